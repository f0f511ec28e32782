//! The raw material of the demo set: teams, categories, staff, citizens' names and places, and the
//! sentences complaints and answers are assembled from. Placeholders in `{braces}` are filled per
//! ticket (see `Vars` in the parent module).

/// Teams: (name, description).
pub const TEAMS: &[(&str, &str)] = &[
    ("Layanan Umum", "Informasi program, saran dan pertanyaan umum"),
    ("Pembayaran Insentif", "Pencairan insentif, rekening dan e-wallet"),
    ("Pelatihan", "Kelas, lembaga pelatihan dan sertifikat"),
    ("Akun & Verifikasi", "Login, OTP, akun terblokir dan verifikasi NIK"),
    ("Infrastruktur Kota", "Jalan, kebersihan, penerangan dan air bersih"),
];

/// Staff: (name, e-mail local part, role, team). The first is the supervisor.
pub const STAFF: &[(&str, &str, &str, &str)] = &[
    ("Rina Kartikasari", "rina.kartikasari", "supervisor", "Layanan Umum"),
    ("Budi Santoso", "budi.santoso", "agent", "Pembayaran Insentif"),
    ("Dewi Lestari", "dewi.lestari", "agent", "Pembayaran Insentif"),
    ("Agus Prasetyo", "agus.prasetyo", "agent", "Akun & Verifikasi"),
    ("Maya Anggraini", "maya.anggraini", "agent", "Pelatihan"),
    ("Fajar Nugroho", "fajar.nugroho", "agent", "Infrastruktur Kota"),
    ("Intan Permatasari", "intan.permatasari", "agent", "Layanan Umum"),
];

pub const STAFF_DOMAIN: &str = "pengaduan.example.go.id";

/// One kind of complaint: its category, and the sentences to build it from.
pub struct Topic {
    pub category: &'static str,
    pub team: &'static str,
    /// How often it comes up, relative to the others.
    pub weight: u32,
    pub tag: &'static str,
    /// Formal subject lines (e-mail, web form, phone summary).
    pub subjects: &'static [&'static str],
    /// First lines as typed in chat, Instagram or WhatsApp.
    pub openers: &'static [&'static str],
    pub details: &'static [&'static str],
    /// The citizen answering a request for data.
    pub answers: &'static [&'static str],
    /// Agent asks for something (the ticket then waits on the citizen).
    pub asks: &'static [&'static str],
    /// Agent resolves.
    pub fixes: &'static [&'static str],
    /// Internal notes.
    pub notes: &'static [&'static str],
    /// Who the team waits on when the ticket is on hold.
    pub third_party: &'static str,
}

pub const TOPICS: &[Topic] = &[
    Topic {
        category: "Insentif Belum Cair",
        team: "Pembayaran Insentif",
        weight: 22,
        tag: "insentif",
        subjects: &[
            "Insentif pasca pelatihan belum diterima",
            "Pencairan insentif gelombang {gelombang} tertunda",
            "Insentif bulan ke-{bulan} tidak masuk",
        ],
        openers: &[
            "insentif saya belum cair padahal sudah {lama}",
            "kok insentif bulan ke-{bulan} belum masuk ya?",
            "mau tanya insentif gelombang {gelombang} kapan cair?",
        ],
        details: &[
            "Saya peserta gelombang {gelombang}, pelatihan pertama sudah selesai dan ulasan sudah saya isi, tapi insentif {nominal} belum masuk ke {ewallet} saya.",
            "Di dasbor statusnya \"dalam proses\" sudah {lama}, padahal teman satu gelombang sudah menerima insentif bulan ke-{bulan}.",
            "Notifikasi bilang insentif sudah dikirim, tapi saldo {ewallet} saya tidak bertambah sama sekali.",
        ],
        answers: &[
            "Ini datanya: NIK berakhiran {nik4}, nomor HP yang terdaftar sama dengan nomor ini, akun {ewallet} sudah premium.",
            "Sudah saya cek, nama di {ewallet} sama persis dengan KTP. Tangkapan layar dasbor sudah saya kirim.",
        ],
        asks: &[
            "Mohon kirimkan 4 digit terakhir NIK dan tangkapan layar halaman dasbor bagian Insentif agar kami bisa menelusuri pembayarannya.",
            "Boleh dibantu pastikan akun {ewallet} Anda sudah terverifikasi (premium) dan nama pemiliknya sama dengan KTP?",
        ],
        fixes: &[
            "Pembayaran insentif bulan ke-{bulan} sebesar {nominal} sudah dikirim ulang hari ini. Silakan cek saldo {ewallet} Anda dalam 1x24 jam.",
            "Kendala ada pada verifikasi rekening dan sudah diperbaiki. Insentif Anda masuk jadwal pencairan berikutnya.",
        ],
        notes: &[
            "Cek dasbor pembayaran: status GAGAL, nama pemilik {ewallet} tidak sesuai KTP. Minta peserta perbarui data.",
            "Sudah diteruskan ke mitra pembayaran, batch {gelombang}-{bulan}. Tunggu rekonsiliasi.",
        ],
        third_party: "mitra pembayaran",
    },
    Topic {
        category: "Rekening & E-wallet",
        team: "Pembayaran Insentif",
        weight: 8,
        tag: "rekening",
        subjects: &[
            "Permohonan ganti nomor rekening penerima insentif",
            "E-wallet tidak bisa ditautkan ke akun",
        ],
        openers: &[
            "gimana cara ganti {ewallet} buat terima insentif?",
            "{ewallet} saya gagal terus pas ditautkan",
        ],
        details: &[
            "Nomor HP lama saya sudah tidak aktif sehingga {ewallet} yang tertaut tidak bisa dipakai lagi.",
            "Setiap menautkan {ewallet} muncul pesan \"data tidak sesuai\" padahal nama dan NIK sudah benar.",
        ],
        answers: &["Baik, nomor baru saya {telepon}, {ewallet} atas nama saya sendiri sudah terverifikasi."],
        asks: &["Mohon kirimkan nomor {ewallet} yang baru beserta foto KTP untuk pencocokan data."],
        fixes: &["Penautan {ewallet} sudah kami reset. Silakan tautkan ulang dari menu Akun > Rekening."],
        notes: &["Penautan lama dihapus manual, log perubahan disimpan."],
        third_party: "penyedia e-wallet",
    },
    Topic {
        category: "Pelatihan & Sertifikat",
        team: "Pelatihan",
        weight: 12,
        tag: "pelatihan",
        subjects: &[
            "Sertifikat pelatihan belum terbit",
            "Kode voucher pelatihan tidak bisa ditukarkan",
            "Kelas {pelatihan} tidak bisa diakses",
        ],
        openers: &[
            "sertifikat {pelatihan} saya belum keluar",
            "kode voucher saya ditolak di {lembaga}",
            "video kelas {pelatihan} error terus",
        ],
        details: &[
            "Saya sudah menyelesaikan {pelatihan} di {lembaga} {lama} lalu, tetapi sertifikatnya belum muncul di dasbor.",
            "Saat menukarkan kode voucher di {lembaga}, muncul pesan \"kode sudah digunakan\" padahal belum pernah saya pakai.",
            "Modul terakhir {pelatihan} tidak bisa diputar sehingga tes akhir tidak bisa dikerjakan.",
        ],
        answers: &["Ini kode voucher dan tangkapan layarnya. Saya memakai HP Android, sudah coba ganti browser juga."],
        asks: &[
            "Mohon kirimkan kode voucher dan tangkapan layar pesan galat yang muncul agar bisa kami cek ke {lembaga}.",
        ],
        fixes: &[
            "Sertifikat {pelatihan} sudah terbit dan bisa diunduh dari dasbor bagian Pelatihan Saya.",
            "{lembaga} sudah memperbaiki akses kelas Anda. Silakan lanjutkan modul dan tes akhir.",
        ],
        notes: &["Sudah email ke {lembaga}, mereka konfirmasi ada gangguan server minggu ini."],
        third_party: "lembaga pelatihan",
    },
    Topic {
        category: "Akun Terblokir",
        team: "Akun & Verifikasi",
        weight: 10,
        tag: "akun",
        subjects: &[
            "Akun terblokir setelah salah kata sandi",
            "Akun dinonaktifkan tanpa pemberitahuan",
        ],
        openers: &[
            "akun saya keblokir, gak bisa login sama sekali",
            "kenapa akun saya tiba-tiba dinonaktifkan?",
        ],
        details: &[
            "Setelah beberapa kali salah memasukkan kata sandi, akun saya terkunci dan tombol pemulihan tidak berfungsi.",
            "Saat login muncul pesan \"akun Anda dinonaktifkan\", padahal saya tidak melanggar ketentuan apa pun.",
        ],
        answers: &["Email terdaftar {email}, NIK berakhiran {nik4}. Foto selfie dengan KTP sudah saya kirim."],
        asks: &["Untuk keamanan, mohon kirimkan foto selfie sambil memegang KTP dan email yang terdaftar."],
        fixes: &["Akun Anda sudah kami buka kembali. Silakan login dan segera ganti kata sandi."],
        notes: &["Terdeteksi login dari banyak perangkat; blokir otomatis. Identitas cocok, aman dibuka."],
        third_party: "tim keamanan sistem",
    },
    Topic {
        category: "OTP & Verifikasi Data",
        team: "Akun & Verifikasi",
        weight: 12,
        tag: "otp",
        subjects: &["Kode OTP tidak masuk", "NIK gagal diverifikasi Dukcapil"],
        openers: &["OTP gak masuk-masuk dari tadi", "NIK saya gagal verifikasi terus"],
        details: &[
            "Sudah saya coba kirim ulang lebih dari 5 kali, tetapi SMS OTP ke nomor {telepon} tidak pernah masuk.",
            "Saat pendaftaran muncul pesan \"NIK tidak ditemukan\", padahal KTP saya elektronik dan masih berlaku.",
        ],
        answers: &["Nomor saya {telepon}, operatornya aktif dan bisa terima SMS lain. NIK berakhiran {nik4}."],
        asks: &[
            "Mohon pastikan nomor {telepon} aktif dan tidak memblokir SMS dari pengirim tak dikenal, lalu kabari kami.",
        ],
        fixes: &["Kendala pengiriman OTP dari operator sudah pulih. Silakan coba minta kode OTP lagi."],
        notes: &["Cek log SMS gateway: status UNDELIVERED untuk nomor ini, eskalasi ke operator."],
        third_party: "Dukcapil",
    },
    Topic {
        category: "Informasi Program",
        team: "Layanan Umum",
        weight: 9,
        tag: "informasi",
        subjects: &[
            "Pertanyaan syarat pendaftaran program",
            "Jadwal pembukaan gelombang berikutnya",
        ],
        openers: &[
            "mau tanya syarat daftar programnya apa aja?",
            "gelombang {gelombang} kapan dibuka ya?",
        ],
        details: &[
            "Saya lulusan SMK dan sedang mencari kerja. Apakah saya boleh mendaftar walaupun pernah ikut program bansos lain?",
            "Saya belum lolos di gelombang sebelumnya. Apakah perlu daftar ulang atau otomatis ikut seleksi berikutnya?",
        ],
        answers: &["Domisili saya di Kecamatan {kecamatan}, usia 24 tahun, belum bekerja."],
        asks: &["Boleh kami tahu usia dan status pekerjaan Anda saat ini agar kami jelaskan syarat yang berlaku?"],
        fixes: &[
            "Peserta yang belum lolos otomatis diikutkan seleksi gelombang berikutnya selama tidak membatalkan keikutsertaan.",
            "Syaratnya WNI berusia minimal 18 tahun dan tidak sedang sekolah atau kuliah. Pendaftaran dibuka di situs resmi.",
        ],
        notes: &["Pertanyaan berulang; usulkan masuk FAQ."],
        third_party: "manajemen program",
    },
    Topic {
        category: "Jalan Rusak",
        team: "Infrastruktur Kota",
        weight: 9,
        tag: "jalan",
        subjects: &["Laporan jalan berlubang di {jalan}", "Jalan amblas dekat {patokan}"],
        openers: &[
            "jalan di {jalan} berlubang parah, bahaya buat motor",
            "tolong jalan depan {patokan} diperbaiki",
        ],
        details: &[
            "Lubangnya sekitar satu meter dan tergenang air kalau hujan. Kemarin ada pengendara motor yang jatuh di sana.",
            "Aspal di {jalan}, Kelurahan {kelurahan}, amblas sejak {lama} dan makin lebar karena dilewati truk.",
        ],
        answers: &["Lokasinya persis di depan {patokan}, {jalan}, RT {rt}. Fotonya sudah saya lampirkan."],
        asks: &["Mohon kirimkan titik lokasi atau patokan terdekat serta foto kondisi jalan."],
        fixes: &["Tim UPT Jalan sudah menambal lubang di {jalan}. Terima kasih atas laporannya."],
        notes: &["Diteruskan ke Dinas PU, masuk jadwal perbaikan pekan ini."],
        third_party: "Dinas Pekerjaan Umum",
    },
    Topic {
        category: "Sampah & Kebersihan",
        team: "Infrastruktur Kota",
        weight: 7,
        tag: "sampah",
        subjects: &[
            "Sampah tidak diangkut di Kelurahan {kelurahan}",
            "Tumpukan sampah liar di {jalan}",
        ],
        openers: &[
            "sampah di RT {rt} gak diangkut udah {lama}",
            "ada pembuangan sampah liar di {jalan}",
        ],
        details: &[
            "Truk sampah tidak datang sejak {lama}, sampah menumpuk dan baunya sampai ke rumah warga.",
            "Tumpukan sampah dekat {patokan} makin tinggi dan menyumbat saluran air.",
        ],
        answers: &["Titiknya di {jalan} dekat {patokan}, RT {rt} Kelurahan {kelurahan}."],
        asks: &["Mohon informasikan alamat lengkap dan RT/RW agar kami teruskan ke petugas kebersihan wilayah."],
        fixes: &["Sampah di lokasi sudah diangkut dan jadwal truk di wilayah Anda dikembalikan normal."],
        notes: &["Koordinasi dengan DLH, armada wilayah {kecamatan} sempat rusak."],
        third_party: "Dinas Lingkungan Hidup",
    },
    Topic {
        category: "Penerangan Jalan",
        team: "Infrastruktur Kota",
        weight: 5,
        tag: "pju",
        subjects: &["Lampu jalan mati di {jalan}"],
        openers: &["lampu jalan di {jalan} mati, gelap banget kalau malam"],
        details: &[
            "Sudah {lama} lampu penerangan jalan di sekitar {patokan} mati, warga khawatir ada begal.",
            "Dari lima tiang lampu di {jalan}, tiga di antaranya mati dan satu berkedip.",
        ],
        answers: &["Tiangnya yang di depan {patokan}, nomor tiang tidak terbaca."],
        asks: &["Mohon kirimkan patokan lokasi tiang lampu yang mati, atau nomor tiangnya bila terlihat."],
        fixes: &["Lampu PJU di {jalan} sudah diganti dan menyala kembali."],
        notes: &["Diteruskan ke Dishub bidang PJU."],
        third_party: "Dinas Perhubungan",
    },
    Topic {
        category: "Air PDAM",
        team: "Infrastruktur Kota",
        weight: 6,
        tag: "pdam",
        subjects: &[
            "Air PDAM mati di Kelurahan {kelurahan}",
            "Tagihan PDAM melonjak tidak wajar",
        ],
        openers: &["air PDAM mati udah {lama}", "tagihan PDAM saya naik dua kali lipat"],
        details: &[
            "Air tidak mengalir sama sekali di {jalan} sejak {lama}, tanpa pemberitahuan gangguan.",
            "Tagihan bulan ini untuk nomor pelanggan {pelanggan} naik dua kali lipat padahal pemakaian seperti biasa.",
        ],
        answers: &["Nomor pelanggan saya {pelanggan}, alamat {jalan} RT {rt}."],
        asks: &["Mohon kirimkan nomor pelanggan PDAM dan foto meteran air terbaru."],
        fixes: &[
            "Perbaikan pipa di wilayah {kelurahan} sudah selesai dan aliran air normal kembali.",
            "Petugas sudah mencatat ulang meter; tagihan dikoreksi pada periode berikutnya.",
        ],
        notes: &["Dikonfirmasi PDAM: pipa transmisi bocor, perbaikan 2-3 hari."],
        third_party: "PDAM",
    },
];

pub const FIRST_NAMES: &[&str] = &[
    "Siti", "Ahmad", "Dewi", "Rudi", "Putri", "Wahyu", "Nur", "Eko", "Sri", "Andi", "Yuliana", "Hendra", "Ratna",
    "Bayu", "Intan", "Joko", "Lina", "Dimas", "Wulan", "Arif", "Fitri", "Rahmat", "Ayu", "Teguh", "Nining", "Yusuf",
    "Mega", "Irfan", "Desi", "Hasan",
];

pub const LAST_NAMES: &[&str] = &[
    "Rahayu",
    "Hidayat",
    "Saputra",
    "Wijaya",
    "Kusuma",
    "Susanti",
    "Hasibuan",
    "Siregar",
    "Nasution",
    "Pratama",
    "Setiawan",
    "Lubis",
    "Simanjuntak",
    "Wulandari",
    "Purnomo",
    "Sembiring",
    "Tanjung",
    "Manurung",
    "Fauzi",
    "Maharani",
];

pub const MAIL_DOMAINS: &[&str] = &["gmail.com", "yahoo.co.id", "outlook.com", "gmail.com", "ymail.com"];
pub const MOBILE_PREFIXES: &[&str] = &[
    "0812", "0813", "0821", "0852", "0857", "0877", "0878", "0881", "0895", "0896",
];

pub const EWALLETS: &[&str] = &["e-wallet", "dompet digital", "rekening bank"];
pub const TRAININGS: &[&str] = &[
    "Pemasaran Digital untuk UMKM",
    "Barista Pemula",
    "Menjahit Busana Muslim",
    "Desain Grafis Dasar",
    "Bahasa Inggris untuk Pemandu Wisata",
    "Teknisi AC Rumah Tangga",
    "Akuntansi UMKM",
];
pub const PROVIDERS: &[&str] = &["LPK Cipta Mandiri", "Akademi Digital Nusantara", "Kelas Pintar Merdeka"];
pub const STREETS: &[&str] = &[
    "Jl. Dipatiukur",
    "Jl. Cihampelas",
    "Jl. Setiabudi",
    "Jl. Soekarno-Hatta",
    "Jl. Terusan Jakarta",
    "Jl. Pasirkaliki",
    "Jl. Ahmad Yani",
    "Jl. Kiaracondong",
    "Jl. Cibaduyut Raya",
    "Jl. Gegerkalong Hilir",
];
pub const LANDMARKS: &[&str] = &[
    "Masjid Al-Ikhlas",
    "SDN 3",
    "Indomaret",
    "pos ronda",
    "Puskesmas",
    "pasar",
    "gereja",
    "warung Bu Tini",
];
pub const KECAMATAN: &[&str] = &[
    "Coblong",
    "Sukajadi",
    "Cicendo",
    "Antapani",
    "Buahbatu",
    "Arcamanik",
    "Kiaracondong",
];
pub const KELURAHAN: &[&str] = &[
    "Lebakgede",
    "Sukagalih",
    "Pasirkaliki",
    "Antapani Kidul",
    "Margasari",
    "Cisaranten",
];
pub const DURATIONS: &[&str] = &[
    "3 hari",
    "seminggu",
    "2 minggu",
    "sebulan",
    "lebih dari sebulan",
    "5 hari",
];
pub const NOMINALS: &[&str] = &["Rp600.000", "Rp150.000", "Rp50.000"];

/// `{waktu}` is the part of the day the citizen writes in (pagi, siang, sore, malam).
pub const INFORMAL_GREETINGS: &[&str] = &[
    "Halo min,",
    "Min,",
    "Permisi kak,",
    "Selamat {waktu} min,",
    "Assalamualaikum min,",
];
pub const INFORMAL_CLOSINGS: &[&str] = &[
    "Mohon dibantu ya min 🙏",
    "Tolong segera ditindaklanjuti.",
    "Makasih min.",
    "",
];

/// Citizen nudges while waiting.
pub const NUDGES: &[&str] = &[
    "Min, sudah {lama} belum ada kabar, mohon dicek lagi.",
    "Bagaimana perkembangan laporan saya? Belum ada perubahan sampai sekarang.",
];

/// A resolved problem that turned out not to be.
pub const RELAPSES: &[&str] = &[
    "Maaf, ternyata masalahnya belum selesai. Saya cek lagi hari ini masih sama seperti kemarin.",
    "Tadi sempat beres, tapi sekarang muncul lagi masalah yang sama.",
];

/// Agent acknowledgements while work goes on.
pub const PROGRESS: &[&str] = &[
    "Laporan Anda sudah kami terima dan sedang ditelusuri oleh tim {team}.",
    "Terima kasih, data sudah kami terima dan sedang kami proses bersama {pihak}.",
];
