"""Settings, read once from `TEJUN_*` environment variables (documented in the README)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"TEJUN_{name}")
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _secret_key(instance: Path) -> str:
    """The configured key, or one generated once and kept in the instance folder (mode 600)."""
    configured = _env("SECRET_KEY")
    if configured:
        return configured
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str
    bpmn_dir: Path
    forms_dir: Path
    upload_dir: Path
    max_upload_bytes: int
    base_url: str
    script_time_limit: float
    worker_interval: float
    worker_batch: int
    db_pool_size: int
    session_cookie_secure: bool
    login_max_failures: int
    login_lockout_seconds: int
    login_ip_max_failures: int
    login_ip_window_seconds: int
    session_idle_minutes: int
    session_lifetime_hours: int
    api_token_max_active: int
    api_token_max_per_hour: int
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    mail_from: str
    reminder_days: int
    default_locale: str
    log_level: str
    engine_log_level: str
    oidc: dict = field(default_factory=dict)
    # evidence files: "local" (TEJUN_UPLOAD_DIR) or "s3" (docs/operations.md, "Evidence storage")
    evidence_store: str = "local"
    s3_bucket: str | None = None
    s3_prefix: str = "evidence/"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # observability (docs/operations.md, "Metrics, logs, readiness")
    log_format: str = "text"
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    metrics_token: str | None = None

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        instance = Path(_env("INSTANCE_PATH", str(PROJECT_ROOT / "instance"))).resolve()
        values = dict(
            instance_path=instance,
            database_url=_env("DATABASE_URL", f"sqlite:///{instance / 'tejun.sqlite3'}"),
            secret_key=None,
            bpmn_dir=Path(_env("BPMN_DIR", str(PROJECT_ROOT / "bpmn"))),
            forms_dir=Path(_env("FORMS_DIR", str(PROJECT_ROOT / "forms"))),
            upload_dir=Path(_env("UPLOAD_DIR", str(instance / "uploads"))),
            max_upload_bytes=_env_int("MAX_UPLOAD_MB", 20) * 1024 * 1024,
            base_url=_env("BASE_URL", "http://127.0.0.1:5000"),
            script_time_limit=float(_env("SCRIPT_TIME_LIMIT", "1.0")),
            worker_interval=float(_env("WORKER_INTERVAL", "5")),
            worker_batch=_env_int("WORKER_BATCH", 50),
            db_pool_size=_env_int("DB_POOL_SIZE", 5),
            session_cookie_secure=_env_bool("SESSION_COOKIE_SECURE", False),
            login_max_failures=_env_int("LOGIN_MAX_FAILURES", 5),
            login_lockout_seconds=_env_int("LOGIN_LOCKOUT_SECONDS", 900),
            login_ip_max_failures=_env_int("LOGIN_IP_MAX_FAILURES", 30),
            login_ip_window_seconds=_env_int("LOGIN_IP_WINDOW_SECONDS", 900),
            session_idle_minutes=_env_int("SESSION_IDLE_MINUTES", 120),
            session_lifetime_hours=_env_int("SESSION_LIFETIME_HOURS", 12),
            api_token_max_active=_env_int("API_TOKEN_MAX_ACTIVE", 20),
            api_token_max_per_hour=_env_int("API_TOKEN_MAX_PER_HOUR", 10),
            smtp_host=_env("SMTP_HOST"),
            smtp_port=_env_int("SMTP_PORT", 25),
            smtp_user=_env("SMTP_USER"),
            smtp_password=_env("SMTP_PASSWORD"),
            smtp_starttls=_env_bool("SMTP_STARTTLS", False),
            mail_from=_env("MAIL_FROM", "tejun@localhost"),
            reminder_days=_env_int("REMINDER_DAYS", 3),
            default_locale=_env("DEFAULT_LOCALE", "ja"),
            log_level=_env("LOG_LEVEL", "INFO").upper(),
            # SpiffWorkflow logs every task state change at INFO: a dozen lines per completed task
            engine_log_level=_env("ENGINE_LOG_LEVEL", "WARNING").upper(),
            oidc={
                key: _env(f"OIDC_{key.upper()}")
                for key in ("issuer", "client_id", "client_secret", "scope", "org_claim", "roles_claim")
                if _env(f"OIDC_{key.upper()}")
            },
        )
        values.update(
            evidence_store=_env("EVIDENCE_STORE", "local").lower(),
            s3_bucket=_env("S3_BUCKET"),
            s3_prefix=_env("S3_PREFIX", "evidence/"),
            s3_endpoint_url=_env("S3_ENDPOINT_URL"),
            s3_region=_env("S3_REGION"),
            s3_access_key_id=_env("S3_ACCESS_KEY_ID"),
            s3_secret_access_key=_env("S3_SECRET_ACCESS_KEY"),
            log_format=_env("LOG_FORMAT", "text").lower(),
            metrics_allow=tuple(a.strip() for a in _env("METRICS_ALLOW", "127.0.0.1,::1").split(",") if a.strip()),
            metrics_token=_env("METRICS_TOKEN"),
        )
        values.update(overrides)
        if values["secret_key"] is None:
            values["secret_key"] = _secret_key(Path(values["instance_path"]))
        return cls(**values)
