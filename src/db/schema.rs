//! Backend-neutral table definitions, kept by hand in step with `migrations/{sqlite,postgres}`.
//! Only types both backends share are used: BigInt, Integer, Text, Bool, Timestamp (UTC), Binary.

diesel::table! {
    teams (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
        auto_assign -> Bool,
        max_open_per_agent -> Integer,
    }
}

diesel::table! {
    categories (id) {
        id -> BigInt,
        name -> Text,
        team_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Nullable<Text>,
        team_id -> Nullable<BigInt>,
        active -> Bool,
        created_at -> Timestamp,
        available -> Bool,
        last_assigned_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    availability_changes (id) {
        id -> BigInt,
        user_id -> BigInt,
        available -> Bool,
        changed_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    auth_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        token_hash -> Text,
        label -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    contacts (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        attributes -> Text,
    }
}

diesel::table! {
    contact_identities (id) {
        id -> BigInt,
        contact_id -> BigInt,
        kind -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_counters (day) {
        day -> Text,
        last_value -> BigInt,
    }
}

diesel::table! {
    tickets (id) {
        id -> BigInt,
        number -> Text,
        access_token_hash -> Text,
        subject -> Text,
        status -> Text,
        priority -> Text,
        channel -> Text,
        contact_id -> BigInt,
        category_id -> Nullable<BigInt>,
        team_id -> Nullable<BigInt>,
        assignee_id -> Nullable<BigInt>,
        parent_ticket_id -> Nullable<BigInt>,
        language -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        first_response_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        last_inbound_at -> Nullable<Timestamp>,
        thread_key -> Nullable<Text>,
    }
}

diesel::table! {
    ticket_tags (ticket_id, tag) {
        ticket_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        direction -> Text,
        channel -> Text,
        author_user_id -> Nullable<BigInt>,
        author_contact_id -> Nullable<BigInt>,
        body_text -> Text,
        body_html -> Nullable<Text>,
        external_id -> Nullable<Text>,
        delivery_state -> Text,
        created_at -> Timestamp,
        metadata -> Nullable<Text>,
        delivery_error -> Nullable<Text>,
        edited_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        message_id -> BigInt,
        filename -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        content -> Nullable<Binary>,
        created_at -> Timestamp,
        source_url -> Nullable<Text>,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        actor_kind -> Text,
        actor_id -> Nullable<BigInt>,
        kind -> Text,
        before_value -> Nullable<Text>,
        after_value -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        run_at -> Timestamp,
        attempts -> Integer,
        max_attempts -> Integer,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        dead_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        idem_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

// E-mail channel (migration 2026-12-01-000002_email).

diesel::table! {
    email_message_ids (id) {
        id -> BigInt,
        rfc_id -> Text,
        ticket_id -> BigInt,
        message_id -> Nullable<BigInt>,
        direction -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_raw (message_id) {
        message_id -> BigInt,
        raw -> Binary,
        size_bytes -> BigInt,
        truncated -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_outbound (message_id) {
        message_id -> BigInt,
        kind -> Text,
        to_address -> Text,
        rfc_id -> Text,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_participants (ticket_id, address) {
        ticket_id -> BigInt,
        address -> Text,
    }
}

diesel::table! {
    email_acks (id) {
        id -> BigInt,
        address -> Text,
        ticket_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_ignored (id) {
        id -> BigInt,
        rfc_id -> Text,
        reason -> Text,
        sender -> Text,
        subject -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_imap_state (mailbox) {
        mailbox -> Text,
        uid_validity -> BigInt,
        last_uid -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    calls (id) {
        id -> BigInt,
        call_id -> Text,
        source -> Text,
        direction -> Text,
        from_raw -> Text,
        to_raw -> Text,
        from_number -> Nullable<Text>,
        to_number -> Nullable<Text>,
        remote_number -> Nullable<Text>,
        queue -> Nullable<Text>,
        users -> Text,
        state -> Text,
        cause -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        answering_number -> Nullable<Text>,
        blocked -> Bool,
        initialized_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        waiting_secs -> Nullable<BigInt>,
        talking_secs -> Nullable<BigInt>,
        contact_id -> Nullable<BigInt>,
        ticket_id -> Nullable<BigInt>,
        recording_url -> Nullable<Text>,
        callback_due_at -> Nullable<Timestamp>,
        callback_done_at -> Nullable<Timestamp>,
        callback_done_by -> Nullable<BigInt>,
        callback_resolution -> Nullable<Text>,
        callback_call_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    call_events (id) {
        id -> BigInt,
        call_id -> Text,
        event -> Text,
        payload -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    blocked_numbers (id) {
        id -> BigInt,
        number -> Text,
        reason -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(categories -> teams (team_id));
diesel::joinable!(users -> teams (team_id));
diesel::joinable!(auth_tokens -> users (user_id));
diesel::joinable!(contact_identities -> contacts (contact_id));
diesel::joinable!(tickets -> contacts (contact_id));
diesel::joinable!(ticket_tags -> tickets (ticket_id));
diesel::joinable!(messages -> tickets (ticket_id));
diesel::table! {
    inbound_events (id) {
        id -> BigInt,
        source -> Text,
        payload -> Binary,
        received_at -> Timestamp,
        state -> Text,
        outcome -> Nullable<Text>,
        processed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sla_calendars (id) {
        id -> BigInt,
        name -> Text,
        definition -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sla_policies (id) {
        id -> BigInt,
        name -> Text,
        position -> Integer,
        version -> Integer,
        definition -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sla_policy_versions (policy_id, version) {
        policy_id -> BigInt,
        version -> Integer,
        definition -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sla_ticket_policies (ticket_id) {
        ticket_id -> BigInt,
        policy_id -> Nullable<BigInt>,
        policy_name -> Text,
        policy_version -> Integer,
        applied_at -> Timestamp,
    }
}

diesel::table! {
    sla_clocks (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        kind -> Text,
        cycle -> Integer,
        policy_name -> Text,
        policy_version -> Integer,
        calendar_id -> Nullable<BigInt>,
        target_secs -> BigInt,
        target_text -> Text,
        remaining_secs -> BigInt,
        running_since -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        next_fire_at -> Nullable<Timestamp>,
        warn_percents -> Text,
        warned -> Integer,
        breached -> Bool,
        state -> Text,
        started_at -> Timestamp,
        stopped_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sla_firings (id) {
        id -> BigInt,
        clock_id -> BigInt,
        cycle -> Integer,
        kind -> Text,
        fired_at -> Timestamp,
        due_at -> Timestamp,
        worker -> Text,
    }
}

diesel::table! {
    sla_notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        ticket_id -> BigInt,
        firing_id -> BigInt,
        kind -> Text,
        body -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(attachments -> messages (message_id));
diesel::joinable!(ticket_events -> tickets (ticket_id));
diesel::joinable!(email_message_ids -> tickets (ticket_id));
diesel::joinable!(email_outbound -> messages (message_id));

diesel::allow_tables_to_appear_in_same_query!(
    teams,
    categories,
    users,
    auth_tokens,
    contacts,
    contact_identities,
    ticket_counters,
    tickets,
    ticket_tags,
    messages,
    attachments,
    ticket_events,
    jobs,
    idempotency_keys,
    calls,
    call_events,
    blocked_numbers,
    email_message_ids,
    email_raw,
    email_outbound,
    email_participants,
    email_acks,
    email_ignored,
    email_imap_state,
    inbound_events,
    sla_calendars,
    sla_policies,
    sla_policy_versions,
    sla_ticket_policies,
    sla_clocks,
    sla_firings,
    sla_notifications,
);
