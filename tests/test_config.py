"""Settings: production refuses unsafe configurations with one line naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from stadtkern.config import DEVELOPMENT_KEY, ConfigError, Settings, load_settings

GOOD_SECRET = "s" * 40


def load(tmp_path: Path, **values: str) -> Settings:
    environ = {f"STADTKERN_{k.upper()}": v for k, v in values.items()}
    environ.setdefault("STADTKERN_DATA_DIR", str(tmp_path / "var"))
    return load_settings(environ=environ, env_file=tmp_path / "missing.env")


def production(**overrides: str) -> dict[str, str]:
    values = {
        "env": "production",
        "secret_key": GOOD_SECRET,
        "database_url": "postgresql+asyncpg://stadt@db.example/stadtkern",
        "smtp_url": "smtp://mail.example:587?starttls=1",
        "public_url": "https://stadtkern.example.de",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v}


def refused(tmp_path: Path, **values: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, **values)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_development_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert not settings.production
    assert settings.secret_key == DEVELOPMENT_KEY
    assert settings.database_url == f"sqlite+aiosqlite:///{(tmp_path / 'var').resolve()}/stadtkern.sqlite3"
    assert settings.mail_dir == (tmp_path / "var").resolve() / "mail"
    assert (settings.port, settings.smtp_url, settings.embedded_worker) == (8000, None, True)


def test_valid_production(tmp_path: Path) -> None:
    settings = load(tmp_path, **production())
    assert settings.production
    assert settings.secret_key == GOOD_SECRET


def test_production_needs_secret_key(tmp_path: Path) -> None:
    assert "STADTKERN_SECRET_KEY" in refused(tmp_path, **production(secret_key=""))


def test_production_refuses_short_secret_key(tmp_path: Path) -> None:
    message = refused(tmp_path, **production(secret_key="x" * 31))
    assert "STADTKERN_SECRET_KEY" in message
    assert "too short" in message


def test_production_refuses_sqlite_unless_allowed(tmp_path: Path) -> None:
    message = refused(tmp_path, **production(database_url=""))
    assert "SQLite" in message
    assert "STADTKERN_ALLOW_SQLITE_IN_PRODUCTION" in message
    settings = load(tmp_path, **production(database_url="", allow_sqlite_in_production="true"))
    assert settings.is_sqlite


def test_production_refuses_anonymous_write(tmp_path: Path) -> None:
    assert "STADTKERN_STA_ANONYMOUS_WRITE" in refused(tmp_path, **production(sta_anonymous_write="true"))
    assert load(tmp_path, sta_anonymous_write="true").sta_anonymous_write


def test_production_needs_smtp(tmp_path: Path) -> None:
    assert "STADTKERN_SMTP_URL" in refused(tmp_path, **production(smtp_url=""))


def test_unknown_setting_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, databse_url="sqlite+aiosqlite:///x.sqlite3")
    assert "STADTKERN_DATABSE_URL" in message


@pytest.mark.parametrize("value", ["http", "0", "65536", "-1", ""])
def test_bad_port(tmp_path: Path, value: str) -> None:
    assert "STADTKERN_PORT" in refused(tmp_path, port=value)


def test_bad_mqtt_port(tmp_path: Path) -> None:
    assert "STADTKERN_MQTT_PORT" in refused(tmp_path, mqtt_port="99999")


@pytest.mark.parametrize("value", ["vielleicht", "2", "ja"])
def test_bad_boolean(tmp_path: Path, value: str) -> None:
    message = refused(tmp_path, embedded_worker=value)
    assert "STADTKERN_EMBEDDED_WORKER" in message
    assert repr(value) in message


@pytest.mark.parametrize(("value", "expected"), [("YES", True), ("on", True), ("0", False), ("false", False)])
def test_booleans(tmp_path: Path, value: str, expected: bool) -> None:
    assert load(tmp_path, embedded_worker=value).embedded_worker is expected


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_url_is_normalised_to_asyncpg(tmp_path: Path, scheme: str) -> None:
    settings = load(tmp_path, database_url=f"{scheme}://u:p@db.example:5433/stadt")
    assert settings.database_url == "postgresql+asyncpg://u:p@db.example:5433/stadt"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    "url", ["mysql://u@db/stadt", "sqlite:///x.db", "postgresql+psycopg://u@db/stadt", "stadtkern"]
)
def test_unsupported_database_url(tmp_path: Path, url: str) -> None:
    assert "STADTKERN_DATABASE_URL" in refused(tmp_path, database_url=url)


def test_bad_env_and_unknown_city(tmp_path: Path) -> None:
    assert "STADTKERN_ENV" in refused(tmp_path, env="staging")
    assert "'atlantis'" in refused(tmp_path, city="atlantis")


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "STADTKERN_PORT=8123\nSTADTKERN_MAIL_FROM=Datei <datei@example.org>\nSTADTKERN_HOST=0.0.0.0\n"
    )
    environ = {"STADTKERN_HOST": "127.0.0.2", "STADTKERN_DATA_DIR": str(tmp_path / "var")}
    settings = load_settings(environ=environ, env_file=env_file)
    assert settings.port == 8123
    assert settings.mail_from == "Datei <datei@example.org>"
    assert settings.host == "127.0.0.2"


def test_unknown_setting_in_env_file_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("STADTKERN_SECRET=abc\n")
    with pytest.raises(ConfigError, match="STADTKERN_SECRET"):
        load_settings(environ={}, env_file=env_file)


def test_settings_declared_by_a_module_are_accepted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from stadtkern import config

    monkeypatch.setattr(
        config, "module_setting_specs", lambda: [config.SettingSpec("PARKING_ZONES", "5", "Zones.")]
    )
    settings = config.load_settings(
        {"STADTKERN_PARKING_ZONES": "7", "STADTKERN_DATA_DIR": str(tmp_path)}, env_file=tmp_path / "none.env"
    )
    assert settings.module_settings["PARKING_ZONES"] == "7"
    defaulted = config.load_settings({"STADTKERN_DATA_DIR": str(tmp_path)}, env_file=tmp_path / "none.env")
    assert defaulted.module_settings["PARKING_ZONES"] == "5"


def test_production_needs_a_public_url_for_links_in_mails(tmp_path: Path) -> None:
    assert "STADTKERN_PUBLIC_URL" in refused(tmp_path, **production(public_url=""))


def test_public_url_must_be_an_http_address(tmp_path: Path) -> None:
    assert "STADTKERN_PUBLIC_URL" in refused(tmp_path, public_url="stadtkern.example.de")
    assert (
        load(tmp_path, public_url="https://stadtkern.example.de/").public_url
        == "https://stadtkern.example.de"
    )
