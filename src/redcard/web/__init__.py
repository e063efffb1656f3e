"""Server-rendered pages: member/, merchant/, operator/ — phone-first, zh-CN by default."""
