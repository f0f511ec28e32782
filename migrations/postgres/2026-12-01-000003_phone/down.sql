DROP TABLE blocked_numbers;
DROP TABLE call_events;
DROP TABLE calls;
