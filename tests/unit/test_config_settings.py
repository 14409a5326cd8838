"""The moderation and delivery settings: read once, bad values refused in one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from forms_service.config import load_config
from forms_service.errors import ConfigurationError


def base(tmp_path: Path) -> dict[str, str]:
    return {"FORMS_SERVICE_HOME": str(tmp_path / "home"), "FORMS_SERVICE_SECRET_KEY": "k"}


def test_defaults_and_values(tmp_path: Path) -> None:
    config = load_config(base(tmp_path), ensure_home=False)
    assert (config.spot_check_rate, config.conversation, config.delivery_attempts) == (0.05, "export", 8)
    config = load_config({**base(tmp_path), "FORMS_SERVICE_SPOT_CHECK": "20%", "FORMS_SERVICE_DELIVERY_ATTEMPTS": "3",
                          "FORMS_SERVICE_CONVERSATION": "Export"}, ensure_home=False)
    assert (config.spot_check_rate, config.conversation, config.delivery_attempts) == (0.2, "export", 3)
    assert (config.closing_date, config.retention_days) == (None, 30)
    config = load_config({**base(tmp_path), "FORMS_SERVICE_CLOSING_DATE": "2027-03-31",
                          "FORMS_SERVICE_RETENTION_DAYS": "0"}, ensure_home=False)
    assert (str(config.closing_date), config.retention_days) == ("2027-03-31", 0)
    config = load_config({**base(tmp_path), "FORMS_SERVICE_DEMOGRAPHIC_CROSSINGS": " age:gender, disability:ethnicity "},
                         ensure_home=False)
    assert config.demographic_crossings == (("age", "gender"), ("disability", "ethnicity"))


@pytest.mark.parametrize(("name", "value", "words"), [
    ("FORMS_SERVICE_SPOT_CHECK", "1.5", "a share between 0 and 1"),
    ("FORMS_SERVICE_SPOT_CHECK", "lots", "a share between 0 and 1"),
    ("FORMS_SERVICE_CONVERSATION", "carrier-pigeon", "must be one of export"),
    ("FORMS_SERVICE_DELIVERY_ATTEMPTS", "0", "a whole number from 1 to 100"),
    ("FORMS_SERVICE_DELIVERY_ATTEMPTS", "many", "a whole number from 1 to 100"),
    ("FORMS_SERVICE_RETENTION_DAYS", "-1", "a whole number of days from 0 to 3650"),
    ("FORMS_SERVICE_RETENTION_DAYS", "a month", "a whole number of days from 0 to 3650"),
    ("FORMS_SERVICE_CLOSING_DATE", "31/03/2027", "as YYYY-MM-DD"),
    ("FORMS_SERVICE_DEMOGRAPHIC_CROSSINGS", "age", "pairs of two different question ids"),
    ("FORMS_SERVICE_RECEIPT_URL", "the consultation page", "web address as it is printed"),
    ("FORMS_SERVICE_RECEIPT_URL", "https://example.org/" + "x" * 80, "web address as it is printed"),
    ("FORMS_SERVICE_DEMOGRAPHIC_CROSSINGS", "age:age", "pairs of two different question ids"),
])
def test_bad_values_are_refused(tmp_path: Path, name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        load_config({**base(tmp_path), name: value}, ensure_home=False)


def test_the_discourse_target_needs_its_settings_and_never_repeats_the_key(tmp_path: Path) -> None:
    env = {**base(tmp_path), "FORMS_SERVICE_CONVERSATION": "discourse"}
    with pytest.raises(ConfigurationError, match="needs DISCOURSE_URL, DISCOURSE_API_KEY"):
        load_config(env, ensure_home=False)
    full = {**env, "DISCOURSE_URL": "https://forum.example.org/", "DISCOURSE_API_KEY": "s3cret-key",
            "DISCOURSE_API_USERNAME": "paper-responses", "DISCOURSE_CATEGORIES": "staff=5, student=6"}
    config = load_config(full, ensure_home=False)
    assert config.discourse is not None and config.discourse.categories == {"staff": 5, "student": 6}
    assert config.discourse.url == "https://forum.example.org" and "s3cret-key" not in repr(config)
    for name, value, words in (("DISCOURSE_CATEGORIES", "staff:5", "area=category id pairs"),
                               ("DISCOURSE_URL", "forum", "the forum's address"),
                               ("DISCOURSE_RATE", "-1", "a positive number")):
        with pytest.raises(ConfigurationError, match=words) as refused:
            load_config({**full, name: value}, ensure_home=False)
        assert "s3cret-key" not in str(refused.value)


def test_the_webhook_target_needs_its_settings_and_never_repeats_the_secret(tmp_path: Path) -> None:
    env = {**base(tmp_path), "FORMS_SERVICE_CONVERSATION": "webhook"}
    with pytest.raises(ConfigurationError, match="needs WEBHOOK_URL, WEBHOOK_SECRET"):
        load_config(env, ensure_home=False)
    config = load_config({**env, "WEBHOOK_URL": "https://example.org/in", "WEBHOOK_SECRET": "sh-secret"},
                         ensure_home=False)
    assert config.webhook is not None and config.webhook.url == "https://example.org/in"
    assert "sh-secret" not in repr(config)
    with pytest.raises(ConfigurationError, match="the receiver's address") as refused:
        load_config({**env, "WEBHOOK_URL": "example", "WEBHOOK_SECRET": "sh-secret"}, ensure_home=False)
    assert "sh-secret" not in str(refused.value)
