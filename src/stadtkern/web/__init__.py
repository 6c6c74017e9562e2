"""The web shell: layout, templates, security headers, sessions, errors, static assets."""
