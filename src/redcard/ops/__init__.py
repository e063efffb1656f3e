"""Operations: structured logs, metrics, health and readiness."""
