//! Storage details both backends must agree on.

// On SQLite the inserts of a contact, a ticket and a message skip `RETURNING` and build the row
// from what they wrote (`tanggap::db::sqlite_insert_id`); on PostgreSQL a new ticket and its first
// message go in one statement that returns only their ids, and the rows are built the same way.
// What they give back must be exactly what the database stored, to the digit, and a column the
// insert leaves out must not come back different either. The time comes from the application's
// clock, as in every write: it is what keeps the built rows at the databases' precision.
crate::both_backends! {
    async fn inserted_rows_are_what_the_database_stored(app) {
        use tanggap::contacts::{Identity, IdentityKind};
        use tanggap::tickets::model::{NewMessage, NewTicket};
        use tanggap::tickets::{numbering, repo};
        let ctx = app.ctx.clone();
        let (contact, found, ticket, messages) = app
            .ctx
            .write(move |conn| {
                let now = ctx.clock.now();
                let ts = now.naive_utc();
                let phone = Identity::parse(IdentityKind::Phone, "081234500001").expect("phone");
                let (contact, created) = tanggap::contacts::repo::find_or_create(conn, "Ani", &phone, ts, false)?;
                assert!(created, "a new phone number makes a new contact");
                let (found, created) = tanggap::contacts::repo::find_or_create(conn, "Someone else", &phone, ts, true)?;
                assert!(!created, "a known phone number finds its contact");
                let number = ctx.numbers.next(conn, now, ctx.settings.tickets.timezone)?;
                let (_, hash) = numbering::new_access_token();
                let message = |ticket_id, body_text, external_id, at| NewMessage {
                    ticket_id,
                    direction: "inbound",
                    channel: "phone",
                    author_user_id: None,
                    author_contact_id: Some(contact.id),
                    body_text,
                    body_html: Some("<p>Sejak kemarin</p>"),
                    external_id: Some(external_id),
                    delivery_state: "received",
                    created_at: at,
                    metadata: Some("{\"queue\":\"umum\"}"),
                };
                let (ticket, first) = repo::insert_ticket_with_message(
                    conn,
                    &NewTicket {
                        number: &number,
                        access_token_hash: &hash,
                        subject: "Lampu jalan mati",
                        status: "new",
                        priority: "high",
                        channel: "phone",
                        contact_id: contact.id,
                        category_id: None,
                        team_id: None,
                        assignee_id: None,
                        parent_ticket_id: None,
                        language: "id",
                        created_at: ts,
                        updated_at: ts,
                        last_inbound_at: Some(ts),
                        thread_key: Some("thread-1"),
                    },
                    |ticket_id| message(ticket_id, "Sejak kemarin", "call-1", ts),
                )?;
                let later = ts + chrono::Duration::microseconds(1);
                let second = repo::insert_message(conn, &message(ticket.id, "Masih mati", "call-2", later))?;
                Ok((contact, found, ticket, vec![first, second]))
            })
            .await
            .expect("insert");
        let mut conn = app.ctx.db.read_conn().unwrap();
        let stored_contact = tanggap::contacts::repo::get(&mut conn, contact.id).unwrap();
        let stored_ticket = repo::get(&mut conn, ticket.id).unwrap();
        let stored_messages = repo::messages_of(&mut conn, ticket.id).unwrap();
        assert_eq!(format!("{contact:?}"), format!("{stored_contact:?}"));
        assert_eq!(format!("{found:?}"), format!("{stored_contact:?}"));
        assert_eq!(format!("{ticket:?}"), format!("{stored_ticket:?}"));
        assert_eq!(format!("{messages:?}"), format!("{stored_messages:?}"));
    }
}
