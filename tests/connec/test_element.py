"""Element Web's config.json for connec: one homeserver, Danish, Orange, nothing extra."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from connec import element
from connec.element import (
    CUSTOM_THEME_COLOUR_KEYS,
    LIST_COLOUR_LENGTHS,
    ElementConfigError,
    load_themes,
    render_element_config,
    write_element_config,
)

HOMESERVER = "https://matrix.kommune.example"
SERVER_NAME = "kommune.example"
PORTAL = "https://connec.kommune.example"
SIX_DIGIT_HEX = re.compile(r"#[0-9a-f]{6}")


@pytest.fixture(scope="module")
def config() -> dict:
    return render_element_config(HOMESERVER, SERVER_NAME, PORTAL)


def test_the_rendered_config_is_json_that_points_at_the_homeserver_given(config: dict) -> None:
    server = config["default_server_config"]["m.homeserver"]
    assert server == {"base_url": HOMESERVER, "server_name": SERVER_NAME}
    assert config["disable_custom_urls"] is True


def test_trailing_slashes_in_the_urls_do_not_double_up() -> None:
    config = render_element_config(HOMESERVER + "/", SERVER_NAME, PORTAL + "/")
    assert config["default_server_config"]["m.homeserver"]["base_url"] == HOMESERVER
    assert config["embedded_pages"]["home_url"] == PORTAL + "/element/home"


def test_quotes_in_a_value_still_give_valid_json() -> None:
    config = render_element_config(HOMESERVER, 'odd"name', PORTAL)
    assert config["default_server_config"]["m.homeserver"]["server_name"] == 'odd"name'


def test_a_citizen_meets_element_in_danish_with_bubbles_and_the_portal_pages(
    config: dict,
) -> None:
    defaults = config["setting_defaults"]
    assert config["brand"] == "connec"
    assert defaults["language"] == "da"
    assert defaults["layout"] == "bubble"
    assert config["default_country_code"] == "DK"
    assert config["embedded_pages"] == {
        "home_url": f"{PORTAL}/element/home",
        "welcome_url": f"{PORTAL}/element/welcome",
    }


def test_settings_element_keeps_per_device_are_not_pretended_in_the_config(
    config: dict,
) -> None:
    # Element keeps the font size and "match system theme" per device and takes no
    # default for them from config.json; docs/element.md says how to set them.
    for per_device in ("baseFontSizeV2", "baseFontSize", "use_system_theme", "fontSizeDelta"):
        assert per_device not in config["setting_defaults"]
        assert per_device not in config


def test_the_sign_in_screen_shows_connec_and_a_link_to_the_portals_help(config: dict) -> None:
    assert config["branding"] == {
        "auth_header_logo_url": f"{PORTAL}/static/connec-logo.svg",
        "auth_footer_links": [{"text": "Hjælp til at logge ind", "url": f"{PORTAL}/kom-i-gang"}],
    }


def test_the_default_theme_is_orange_and_exists(config: dict) -> None:
    known = {theme.element_id for theme in load_themes()}
    assert config["default_theme"] == "custom-Online Befriender Orange"
    assert config["default_theme"] in known


def test_both_themes_are_offered_exactly_as_their_files_define_them(config: dict) -> None:
    offered = config["setting_defaults"]["custom_themes"]
    assert [theme["name"] for theme in offered] == [theme.name for theme in load_themes()]
    assert {theme["name"] for theme in offered} == {
        "Online Befriender Orange",
        "Online Befriender Green",
    }
    assert offered == [theme.as_element() for theme in load_themes()]


@pytest.mark.parametrize(
    "setting",
    [
        "UIFeature.registration",
        "UIFeature.deactivate",  # closing an account goes through "Mine data"
        "UIFeature.passwordReset",
        "UIFeature.identityServer",
        "UIFeature.thirdPartyId",
        "UIFeature.urlPreviews",
        "UIFeature.widgets",
        "UIFeature.advancedSettings",
        "UIFeature.feedback",
        "UIFeature.shareSocial",
        "UIFeature.locationSharing",
    ],
)
def test_features_a_citizen_does_not_need_are_switched_off(config: dict, setting: str) -> None:
    assert config["setting_defaults"][setting] is False


def test_guests_identifiers_labs_directory_and_integrations_are_off(config: dict) -> None:
    assert config["disable_guests"] is True
    assert config["disable_3pid_login"] is True
    assert config["show_labs_settings"] is False
    assert config["room_directory"] == {"servers": []}
    assert config["integrations_ui_url"] is None
    assert config["integrations_rest_url"] is None
    assert config["integrations_widgets_urls"] == []


@pytest.mark.parametrize("theme", load_themes(), ids=lambda theme: theme.name)
def test_each_theme_sets_every_colour_element_reads(theme: element.Theme) -> None:
    missing = [key for key in CUSTOM_THEME_COLOUR_KEYS if key not in theme.colors]
    assert not missing, f"{theme.name} lacks {missing}"
    assert theme.is_dark is False
    for key, length in LIST_COLOUR_LENGTHS.items():
        assert len(theme.colors[key]) == length, f"{theme.name}: {key} needs {length} colours"


@pytest.mark.parametrize("theme", load_themes(), ids=lambda theme: theme.name)
def test_each_colour_is_six_digit_hex_because_element_appends_alpha(
    theme: element.Theme,
) -> None:
    # Element derives "-15pct" and friends by appending two hex digits to the value.
    values = [
        *(value for value in theme.colors.values() if isinstance(value, str)),
        *(entry for value in theme.colors.values() if isinstance(value, list) for entry in value),
        *theme.compound.values(),
    ]
    odd = [value for value in values if not SIX_DIGIT_HEX.fullmatch(value)]
    assert not odd, f"{theme.name}: {odd}"


@pytest.mark.parametrize("theme", load_themes(), ids=lambda theme: theme.name)
def test_each_theme_uses_fonts_the_device_already_has(theme: element.Theme) -> None:
    assert theme.fonts["faces"] == []
    assert theme.fonts["general"].startswith("Verdana,")
    assert theme.fonts["general"].endswith("sans-serif")
    assert theme.fonts["monospace"].endswith("monospace")


def test_the_config_is_written_into_the_data_folder(tmp_path: Path) -> None:
    path = write_element_config(tmp_path, HOMESERVER, SERVER_NAME, PORTAL)
    assert path == tmp_path / "element" / "config.json"
    assert json.loads(path.read_text(encoding="utf-8")) == render_element_config(
        HOMESERVER, SERVER_NAME, PORTAL
    )


def test_a_broken_template_is_reported_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "themes").mkdir()
    (tmp_path / "config.json.j2").write_text('{\n    "brand": "connec",\n}\n')
    monkeypatch.setattr(element, "ELEMENT_THEME_DIR", tmp_path)
    monkeypatch.setattr(element, "THEMES_DIR", tmp_path / "themes")
    with pytest.raises(ElementConfigError, match=r"invalid JSON at line 3"):
        render_element_config(HOMESERVER, SERVER_NAME, PORTAL)


def test_a_theme_file_with_a_stray_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "odd.json").write_text('{"name": "Odd", "colors": {}, "colours": {}}')
    monkeypatch.setattr(element, "THEMES_DIR", tmp_path)
    with pytest.raises(ElementConfigError, match="colours"):
        load_themes()
