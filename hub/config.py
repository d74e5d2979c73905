"""Settings, read from the environment with the prefix ``HUB_``.

With no settings at all the hub runs on the embedded defaults: a managed local Mosquitto
and SQLite under ``./var/``. With ``HUB_MQTT_URL`` set it uses that broker and starts none.
Settings are built once in the entry point and passed down; nothing reads them at import.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_SECRET = "demo-secret-not-for-production"


class Settings(BaseSettings):
    """Every setting of the hub; see the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    mqtt_url: str | None = Field(
        default=None,
        description="External broker, mqtt://user:pass@host:port. Unset: run a managed Mosquitto.",
    )
    mqtt_client_id: str = Field(default="hub", description="Client id of the hub's session.")
    mqtt_session_expiry_s: int = Field(default=3600, ge=0, description="Broker keeps the hub's session this long.")
    mqtt_connect_wait_s: float = Field(default=10.0, ge=0, description="Wait this long for the broker at start.")
    broker_port: int = Field(default=0, ge=0, le=65535, description="Managed broker port (0: a free one).")
    mqtt_public_address: str | None = Field(
        default=None,
        description="host:port that homes' devices reach the broker at (link snippets). Unset: the broker's own.",
    )
    mosquitto_bin: str = Field(default="mosquitto", description="Mosquitto executable for the managed broker.")
    data_dir: Path = Field(default=Path("var"), description="Database, broker data and logs.")
    database_url: str | None = Field(
        default=None,
        description="postgresql://user:pass@host:port/db makes PostgreSQL the store. Unset: SQLite in data_dir.",
    )
    database_pool_size: int = Field(default=10, ge=2, le=200, description="PostgreSQL connections per hub process.")
    shares: int = Field(
        default=0, ge=0, le=4096,
        description="Partitioned workers: split the households into this many shares (16 is a good start;"
        " PostgreSQL and HUB_MQTT_URL needed). 0: one worker holds everything.",
    )
    worker_id: str | None = Field(default=None, description="This worker's name among the partitioned workers"
                                  " (default: host-pid).")
    lease_ttl_s: float = Field(default=5.0, gt=0, description="A share's lease lapses this long after its"
                               " holder's last heartbeat.")
    lease_heartbeat_s: float = Field(default=1.5, gt=0, description="How often a worker renews its leases.")
    api_host: str = Field(default="127.0.0.1", description="HTTP API bind address.")
    api_port: int = Field(default=8080, ge=0, le=65535, description="HTTP API port (0: a free one).")
    public_url: str | None = Field(
        default=None,
        description="The address people reach the hub at (https://... marks the session cookie Secure; "
        "dashboard forms must come from it).",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated proxy addresses or networks whose X-Forwarded-For names the caller.",
    )
    streams_per_account: int = Field(
        default=10, ge=1, description="Live event streams (/ui/stream) one account may hold open at once."
    )
    secret_key: SecretStr = Field(default=SecretStr(""), description="Signs login tokens. Required outside the demo.")
    admin_username: str = Field(default="community-admin", description="The first community admin's login.")
    admin_password: SecretStr = Field(
        default=SecretStr(""), description="Creates that admin on the first start (unset: no admin is created)."
    )
    devices_dir: Path = Field(default=REPO_ROOT / "devices", description="Device profiles.")
    rules_dir: Path = Field(default=REPO_ROOT / "rules", description="Rule packs.")
    rule_packs: list[str] = Field(default_factory=list, description="Pack files to load (default: all in rules_dir).")
    ingest_queue_max: int = Field(
        default=20000, ge=100, description="Inbound messages held; when full the hub stops reading (backpressure)."
    )
    ingest_shed_at: int | None = Field(
        default=None, ge=0, description="Messages waiting above which superseded QoS 0 readings are dropped "
        "(default: half of ingest_queue_max; 0: never).",
    )
    ingest_batch_max: int = Field(
        default=500, ge=1, description="Messages processed per batch (the API waits at most one batch)."
    )
    device_rate_limit: int = Field(default=200, ge=1, description="Messages a second per device before shedding.")
    dead_letters_max: int = Field(default=10000, ge=100, description="Dead letters kept (oldest dropped).")
    history_raw_days: int = Field(default=7, ge=1, description="Raw telemetry kept this many days.")
    history_agg_days: int = Field(default=365, ge=1, description="5-minute aggregates kept this many days.")
    history_min_interval_s: float = Field(
        default=10.0, ge=0, description="History keeps one numeric sample per device per interval (0: all)."
    )
    history_bucket_s: int = Field(default=300, ge=10, description="Aggregate bucket of the history, seconds.")
    influx_url: str | None = Field(default=None, description="Also write readings to this InfluxDB.")
    influx_token: SecretStr = Field(default=SecretStr(""), description="InfluxDB token (2.x) or user:password (1.x).")
    influx_org: str = Field(default="", description="InfluxDB organisation (2.x).")
    influx_bucket: str = Field(default="hub", description="InfluxDB bucket (2.x) or database (1.x).")
    influx_api: str | None = Field(default=None, description="v1 or v2 (default: v2 when an org is set).")
    influx_max_buffer: int = Field(default=50000, ge=100, description="Points held while InfluxDB is down.")
    broker_admin_username: str | None = Field(default=None, description="Dynamic-security admin of an external broker.")
    broker_admin_password: SecretStr = Field(default=SecretStr(""), description="Its password.")
    feeds: list[str] = Field(
        default_factory=list, description='Feeds to poll, JSON list of "community=url" (CAP, Atom/RSS, outage JSON).'
    )
    map_tile_url: str | None = Field(default=None, description="Leaflet tile URL; unset: plain background.")
    timer_max_sleep_s: float = Field(default=60.0, gt=0, description="Longest sleep of the rule timers.")
    demo: bool = Field(default=False, description="Demo mode: allows the demo secret.")
    bench: bool = Field(default=False, description="Benchmark mode: bench profile and rule pack only.")

    @field_validator("mqtt_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"mqtt", "tcp"} or not parts.hostname:
            raise ValueError("HUB_MQTT_URL must look like mqtt://[user:pass@]host[:port]")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("HUB_PUBLIC_URL must look like https://host[:port]")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        entries = [e.strip() for e in value.split(",") if e.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"HUB_TRUSTED_PROXIES: {entry!r} is not an address or network") from None
        return ",".join(entries)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if urlsplit(value).scheme not in {"postgresql", "postgres"}:
            raise ValueError("HUB_DATABASE_URL must look like postgresql://user:pass@host:port/dbname")
        return value

    @field_validator("feeds")
    @classmethod
    def _check_feeds(cls, value: list[str]) -> list[str]:
        for entry in value:
            community, _, url = entry.partition("=")
            if not community or not url.startswith(("http://", "https://")):
                raise ValueError(f"feed {entry!r} must look like community=https://...")
        return value

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.demo and not self.secret_key.get_secret_value():
            self.secret_key = SecretStr(DEMO_SECRET)
        if not self.demo and self.secret_key.get_secret_value() == DEMO_SECRET:
            raise ValueError("HUB_SECRET_KEY is the demo secret: set a secret of your own")
        return self

    def require_secret(self) -> str:
        """The signing secret; outside the demo and the benchmark it must be set."""
        secret = self.secret_key.get_secret_value()
        if len(secret) < 16 and not self.bench:
            raise ConfigError("HUB_SECRET_KEY must be set (at least 16 characters) outside the demo")
        return secret

    @property
    def embedded_broker(self) -> bool:
        """True when the hub runs its own Mosquitto."""
        return self.mqtt_url is None

    def broker_address(self) -> tuple[str, int, str | None, str | None]:
        """Host, port, username and password of the external broker."""
        if self.mqtt_url is None:
            raise ConfigError("no external broker configured (HUB_MQTT_URL is unset)")
        parts = urlsplit(self.mqtt_url)
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return parts.hostname or "127.0.0.1", parts.port or 1883, user, password

    @property
    def db_path(self) -> Path:
        return self.data_dir / "hub.sqlite3"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides; refuse bad values clearly."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
