"""Delivery of the notification outbox: per-sink deliveries (`service`), the sinks (the in-app
inbox, e-mail over SMTP, a file or the log: `sinks`, `smtp`), rendering in the member's
language (`render`), the member's inbox (`inbox`), the reminders the worker writes
(`reminders`) and the operator's view of the outbox (`outbox`)."""
