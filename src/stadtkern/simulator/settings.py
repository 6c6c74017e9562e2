"""The simulator's settings (declared through ``stadtkern_settings``; documented in docs/settings.md)."""

from __future__ import annotations

from stadtkern.config import ConfigError, Settings, SettingSpec
from stadtkern.simulator.city import DEFAULT_SEED

ENABLED = "SIMULATOR"
SEED = "SIMULATOR_SEED"

SPECS = (
    SettingSpec(
        ENABLED,
        "auto",
        "Keep the demo city alive: the app writes simulated sensor readings every quarter hour "
        "(`stadtkern simulate` in real time). `auto`: in development mode only; `true`/`false`. Runs only "
        "in the one-process default (`EMBEDDED_WORKER=true`); otherwise run `stadtkern simulate`.",
    ),
    SettingSpec(SEED, str(DEFAULT_SEED), "Seed of the simulated city (same seed, same readings)."),
)


def simulator_in_app(settings: Settings) -> bool:
    """Whether the app's lifespan runs the real-time simulation in this process."""
    raw = (settings.module_settings.get(ENABLED) or "auto").strip().lower()
    if raw not in {"auto", "true", "false", "1", "0", "yes", "no", "on", "off"}:
        raise ConfigError(f"STADTKERN_{ENABLED}={raw!r} must be auto, true or false.")
    wanted = not settings.production if raw == "auto" else raw in {"true", "1", "yes", "on"}
    return wanted and settings.embedded_worker


def seed(settings: Settings) -> int:
    raw = (settings.module_settings.get(SEED) or str(DEFAULT_SEED)).strip()
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"STADTKERN_{SEED}={raw!r} must be a whole number.") from None
