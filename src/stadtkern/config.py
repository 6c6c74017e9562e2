"""Settings from ``STADTKERN_*`` environment variables (and an optional ``.env``).

Every setting is declared once in ``SETTINGS`` with its description; ``docs/settings.md`` is checked
against this table by a test, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values


class ConfigError(Exception):
    """A configuration problem, told to the operator in one line (never a traceback)."""


@dataclass(frozen=True)
class SettingSpec:
    name: str
    default: str | None
    description: str


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("ENV", "development", "`development` or `production`. Production refuses unsafe defaults."),
    SettingSpec("HOST", "127.0.0.1", "Address the HTTP server listens on."),
    SettingSpec("PORT", "8000", "HTTP port."),
    SettingSpec("DATA_DIR", "./var", "Where files live: the SQLite database, mail in development, exports."),
    SettingSpec(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL. Default: SQLite at `DATA_DIR/stadtkern.sqlite3`. "
        "PostgreSQL: `postgresql+asyncpg://user:pass@host/db`.",
    ),
    SettingSpec(
        "PUBLIC_URL",
        None,
        "The address people reach Stadtkern at, e.g. `https://stadtkern.duisburg.de`; used in links in mails. "
        "Required in production (links must never follow a request's Host header there).",
    ),
    SettingSpec("SECRET_KEY", None, "Signs sessions, CSRF tokens and keys. Required in production."),
    SettingSpec(
        "ALLOW_SQLITE_IN_PRODUCTION", "false", "Allow the embedded SQLite database in production mode."
    ),
    SettingSpec("CITY", "duisburg", "The city profile: a folder under `cities/`."),
    SettingSpec("CITIES_DIR", None, "Where city profiles live. Default: `cities/` of the checkout."),
    SettingSpec(
        "MQTT_PORT",
        "1883",
        "Port of Stadtkern's own SensorThings MQTT endpoint (started by `stadtkern run` and `serve`).",
    ),
    SettingSpec(
        "MQTT_IN_HTTP",
        "true",
        "Whether the web processes (`run`, `serve`) also serve the MQTT endpoint. Set `false` when "
        "`stadtkern sta mqtt` serves it in a process of its own (several HTTP workers).",
    ),
    SettingSpec(
        "MQTT_BUS_URL",
        None,
        "Mosquitto carrying SensorThings events between Stadtkern processes, e.g. `mqtt://127.0.0.1:1884`.",
    ),
    SettingSpec(
        "SMTP_URL",
        None,
        "Outgoing mail, e.g. `smtp://user:pass@host:587?starttls=1`. Without it, development mode writes "
        "mail to `DATA_DIR/mail/` (readable at `/dev/mail`). Required in production.",
    ),
    SettingSpec("MAIL_FROM", "Stadtkern <noreply@stadtkern.localhost>", "Sender address of outgoing mail."),
    SettingSpec(
        "STA_ANONYMOUS_WRITE",
        "false",
        "SensorThings writes without a key. Tests only; refused in production.",
    ),
    SettingSpec(
        "TILE_URL",
        None,
        "Optional map tile server, e.g. `https://tiles.example.org/{z}/{x}/{y}.png`; its origin is "
        "added to the Content-Security-Policy.",
    ),
    SettingSpec(
        "EMBEDDED_WORKER",
        "true",
        "Run the job runner inside the web process (the one-process default). Production sets `false` "
        "and runs `stadtkern worker`.",
    ),
    SettingSpec(
        "TEST_DATABASE_URL", None, "PostgreSQL server for the test suite (otherwise it starts its own)."
    ),
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# Used only in development mode; production refuses to start without STADTKERN_SECRET_KEY.
DEVELOPMENT_KEY = "development-only-key-not-for-production"


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"STADTKERN_{name}={value!r} is not a yes/no value (use true or false).")


@dataclass(frozen=True)
class Settings:
    env: str
    host: str
    port: int
    data_dir: Path
    database_url: str
    secret_key: str
    allow_sqlite_in_production: bool
    city: str
    cities_dir: Path
    mqtt_port: int
    mqtt_bus_url: str | None
    mqtt_in_http: bool
    smtp_url: str | None
    mail_from: str
    sta_anonymous_write: bool
    tile_url: str | None
    embedded_worker: bool
    public_url: str | None = None
    # Values of the settings that modules declare through the ``stadtkern_settings`` hook.
    module_settings: Mapping[str, str] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def city_dir(self) -> Path:
        return self.cities_dir / self.city


def _default_cities_dir() -> Path:
    """The checkout's ``cities/`` folder (src/stadtkern/config.py -> ../../cities), else ./cities."""
    here = Path(__file__).resolve().parents[2] / "cities"
    return here if here.is_dir() else Path.cwd() / "cities"


def _public_url(value: str | None) -> str | None:
    if not value:
        return None
    cleaned = value.strip().rstrip("/")
    if not (cleaned.startswith("https://") or cleaned.startswith("http://")) or " " in cleaned:
        raise ConfigError(
            f"STADTKERN_PUBLIC_URL={value!r} must be an http(s) address like https://stadtkern.example.de."
        )
    return cleaned


def module_setting_specs() -> list[SettingSpec]:
    """Settings declared by installed modules (hook ``stadtkern_settings``), whether enabled or not."""
    from stadtkern.modules import available_modules  # late: modules import the app's code

    specs: list[SettingSpec] = []
    for entry_point in available_modules().values():
        declare = getattr(entry_point.load(), "stadtkern_settings", None)
        if declare is not None:
            specs.extend(declare())
    return specs


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Read and validate settings. Raises ConfigError with a one-line explanation."""
    source: dict[str, str] = {}
    dotenv_path = env_file if env_file is not None else Path.cwd() / ".env"
    if dotenv_path.is_file():
        source.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    source.update(dict(os.environ if environ is None else environ))

    known = {spec.name for spec in SETTINGS}
    values: dict[str, str | None] = {}
    for spec in SETTINGS:
        values[spec.name] = source.get(f"STADTKERN_{spec.name}", spec.default)
    module_specs = module_setting_specs()
    known |= {spec.name for spec in module_specs}
    module_values = {
        spec.name: value
        for spec in module_specs
        if (value := source.get(f"STADTKERN_{spec.name}", spec.default)) is not None
    }
    unknown = sorted(
        key for key in source if key.startswith("STADTKERN_") and key.removeprefix("STADTKERN_") not in known
    )
    if unknown:
        raise ConfigError(f"Unknown setting {unknown[0]}; see docs/settings.md for the list of settings.")

    env = (values["ENV"] or "development").strip().lower()
    if env not in {"development", "production"}:
        raise ConfigError(f"STADTKERN_ENV={env!r} must be 'development' or 'production'.")
    production = env == "production"

    data_dir = Path(values["DATA_DIR"] or "./var").expanduser().resolve()
    database_url = values["DATABASE_URL"] or f"sqlite+aiosqlite:///{data_dir / 'stadtkern.sqlite3'}"
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        database_url = "postgresql+asyncpg://" + database_url.split("://", 1)[1]
    # Only the drivers Stadtkern ships with: another driver would fail later with an import traceback.
    if not (
        database_url.startswith("sqlite+aiosqlite://") or database_url.startswith("postgresql+asyncpg://")
    ):
        raise ConfigError(
            f"STADTKERN_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
            f"(got {database_url.split('://', 1)[0]}://...)."
        )

    secret = values["SECRET_KEY"]
    allow_sqlite = _bool("ALLOW_SQLITE_IN_PRODUCTION", values["ALLOW_SQLITE_IN_PRODUCTION"] or "false")
    anonymous_write = _bool("STA_ANONYMOUS_WRITE", values["STA_ANONYMOUS_WRITE"] or "false")
    smtp_url = values["SMTP_URL"] or None
    if production:
        if not secret:
            raise ConfigError(
                "Production mode needs STADTKERN_SECRET_KEY (at least 32 random characters, "
                "e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        if len(secret) < 32:
            raise ConfigError("STADTKERN_SECRET_KEY is too short for production: use at least 32 characters.")
        if database_url.startswith("sqlite") and not allow_sqlite:
            raise ConfigError(
                "Production mode refuses SQLite: set STADTKERN_DATABASE_URL to PostgreSQL, "
                "or STADTKERN_ALLOW_SQLITE_IN_PRODUCTION=true for a single-process installation."
            )
        if anonymous_write:
            raise ConfigError(
                "STADTKERN_STA_ANONYMOUS_WRITE is for tests only and refused in production mode."
            )
        if not smtp_url:
            raise ConfigError("Production mode needs STADTKERN_SMTP_URL so that account mails reach people.")
        if not values["PUBLIC_URL"]:
            raise ConfigError(
                "Production mode needs STADTKERN_PUBLIC_URL (e.g. https://stadtkern.example.de) for links in mails."
            )

    def port(name: str) -> int:
        raw = values[name] or ""
        try:
            number = int(raw)
        except ValueError:
            raise ConfigError(f"STADTKERN_{name}={raw!r} is not a port number.") from None
        if not 0 < number < 65536:
            raise ConfigError(f"STADTKERN_{name}={number} is outside 1-65535.")
        return number

    cities_dir = Path(values["CITIES_DIR"]).resolve() if values["CITIES_DIR"] else _default_cities_dir()
    city = values["CITY"] or "duisburg"
    if not (cities_dir / city / "city.toml").is_file():
        raise ConfigError(f"City profile {city!r} not found: expected {cities_dir / city / 'city.toml'}.")

    return Settings(
        env=env,
        host=values["HOST"] or "127.0.0.1",
        port=port("PORT"),
        data_dir=data_dir,
        database_url=database_url,
        secret_key=secret or DEVELOPMENT_KEY,
        allow_sqlite_in_production=allow_sqlite,
        city=city,
        cities_dir=cities_dir,
        mqtt_port=port("MQTT_PORT"),
        mqtt_bus_url=values["MQTT_BUS_URL"] or None,
        mqtt_in_http=_bool("MQTT_IN_HTTP", values["MQTT_IN_HTTP"] or "true"),
        smtp_url=smtp_url,
        mail_from=values["MAIL_FROM"] or "Stadtkern <noreply@stadtkern.localhost>",
        sta_anonymous_write=anonymous_write,
        tile_url=values["TILE_URL"] or None,
        embedded_worker=_bool("EMBEDDED_WORKER", values["EMBEDDED_WORKER"] or "true"),
        module_settings=module_values,
        public_url=_public_url(values["PUBLIC_URL"]),
    )
