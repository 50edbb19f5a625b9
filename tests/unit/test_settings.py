"""Outside development mode, the services refuse the repository's development secrets."""

import pytest

from shared.settings import DEVELOPMENT_JWT_SECRET, DevelopmentSecretsError, Settings

OWN_SECRET = "an-operators-own-secret-of-at-least-32-bytes"
OWN = {
    "auth_jwt_secret": OWN_SECRET,
    "database_url": "postgresql://registry_app:s3cr3t-app@db:5432/caller_numbers",
    "database_owner_url": "postgresql://registry:s3cr3t-owner@db:5432/caller_numbers",
}


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"auth_jwt_secret": DEVELOPMENT_JWT_SECRET}, "AUTH_JWT_SECRET"),
        (
            {"database_url": "postgresql://registry_app:registry_app@db/caller_numbers"},
            "DATABASE_URL",
        ),
        (
            {"database_owner_url": "postgresql://registry:registry@db/caller_numbers"},
            "DATABASE_OWNER_URL",
        ),
        (
            {
                "database_url": "postgresql://db/caller_numbers?user=registry_app&password=registry_app"
            },
            "DATABASE_URL",
        ),
    ],
    ids=["jwt-secret", "app-password", "owner-password", "password-in-query"],
)
def test_a_development_secret_is_refused_outside_development_mode(
    changes: dict[str, str], named: str
) -> None:
    settings = Settings(**{**OWN, **changes}, development_mode=False)
    with pytest.raises(DevelopmentSecretsError, match=named):
        settings.refuse_development_secrets()
    Settings(**{**OWN, **changes}, development_mode=True).refuse_development_secrets()


def test_the_defaults_name_every_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AUTH_JWT_SECRET", "DATABASE_URL", "DATABASE_OWNER_URL", "DEVELOPMENT_MODE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.development_secrets() == [
        "AUTH_JWT_SECRET",
        "DATABASE_URL",
        "DATABASE_OWNER_URL",
    ]


def test_own_secrets_start() -> None:
    Settings(**OWN, development_mode=False).refuse_development_secrets()
