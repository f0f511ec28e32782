#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tanggap_fuzz::whatsapp(data);
});
