DROP TABLE sla_notifications;
DROP TABLE sla_firings;
DROP TABLE sla_clocks;
DROP TABLE sla_ticket_policies;
DROP TABLE sla_policy_versions;
DROP TABLE sla_policies;
DROP TABLE sla_calendars;
