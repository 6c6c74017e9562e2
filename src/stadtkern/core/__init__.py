"""Core services: accounts, roles, audit, privacy, mail, jobs, i18n, clock."""
