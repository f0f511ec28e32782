//! Storage details both backends must agree on.

// On SQLite the inserts of a contact, a ticket and a message skip `RETURNING` and build the row
// from what they wrote (`tanggap::db::sqlite_insert_id`); what they give back must be exactly what
// the database stored, to the nanosecond, and a column the insert leaves out must not come back
// different either.
crate::both_backends! {
    async fn inserted_rows_are_what_the_database_stored(app) {
        use tanggap::contacts::{Identity, IdentityKind};
        use tanggap::tickets::model::{NewMessage, NewTicket};
        use tanggap::tickets::{numbering, repo};
        let ctx = app.ctx.clone();
        let (contact, ticket, message) = app
            .ctx
            .write(move |conn| {
                let now = chrono::Utc::now();
                let ts = now.naive_utc();
                let phone = Identity::parse(IdentityKind::Phone, "081234500001").expect("phone");
                let contact = tanggap::contacts::repo::insert_with_identity(conn, "Ani", &phone, ts)?;
                let number = ctx.numbers.next(conn, now, ctx.settings.tickets.timezone)?;
                let (_, hash) = numbering::new_access_token();
                let ticket = repo::insert_ticket(
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
                )?;
                let message = repo::insert_message(
                    conn,
                    &NewMessage {
                        ticket_id: ticket.id,
                        direction: "inbound",
                        channel: "phone",
                        author_user_id: None,
                        author_contact_id: Some(contact.id),
                        body_text: "Sejak kemarin",
                        body_html: Some("<p>Sejak kemarin</p>"),
                        external_id: Some("call-1"),
                        delivery_state: "received",
                        created_at: ts,
                        metadata: Some("{\"queue\":\"umum\"}"),
                    },
                )?;
                Ok((contact, ticket, message))
            })
            .await
            .expect("insert");
        let mut conn = app.ctx.db.read_conn().unwrap();
        let stored_contact = tanggap::contacts::repo::get(&mut conn, contact.id).unwrap();
        let stored_ticket = repo::get(&mut conn, ticket.id).unwrap();
        let stored_messages = repo::messages_of(&mut conn, ticket.id).unwrap();
        assert_eq!(format!("{contact:?}"), format!("{stored_contact:?}"));
        assert_eq!(format!("{ticket:?}"), format!("{stored_ticket:?}"));
        assert_eq!(stored_messages.len(), 1);
        assert_eq!(format!("{message:?}"), format!("{:?}", stored_messages[0]));
    }
}
