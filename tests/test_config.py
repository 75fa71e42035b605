import pytest

from imuhip.config import ConfigError, PairedSensor, Pairing, load_pairing, save_pairing
from imuhip.errors import LayoutError


def test_round_trip(tmp_path):
    p = Pairing(
        "right",
        {
            "thigh": PairedSensor("AA:01", "witmotion-ble5", "WT901"),
            "shin": PairedSensor("AA:02", "polar-pmd"),
        },
    )
    path = save_pairing(p, tmp_path / "sub" / "pairing.json")
    assert load_pairing(path) == p


def test_env_points_to_config(tmp_path, monkeypatch):
    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "c.json"))
    save_pairing(Pairing("left", {"thigh": PairedSensor("A", "x"), "shin": PairedSensor("B", "x")}))
    assert load_pairing().side == "left"


def test_missing_and_damaged(tmp_path):
    with pytest.raises(ConfigError, match="run 'imuhip pair' first"):
        load_pairing(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        load_pairing(tmp_path / "bad.json")
    (tmp_path / "bad2.json").write_text('{"side": "left", "sensors": {"thigh": {"nope": 1}}}')
    with pytest.raises(ConfigError, match="not a valid pairing"):
        load_pairing(tmp_path / "bad2.json")


def test_validation():
    with pytest.raises(ConfigError, match="side"):
        Pairing("middle")
    with pytest.raises(ConfigError, match="two roles"):
        Pairing("left", {"thigh": PairedSensor("aa", "x"), "shin": PairedSensor("AA", "x")})


def test_round_trip_with_sided_roles_and_the_layout_checked_when_used(tmp_path):
    roles = ("left_thigh", "left_shin", "right_thigh", "right_shin", "pelvis", "trunk")
    p = Pairing(
        "both", {r: PairedSensor(f"AA:0{i}", "witmotion-ble5") for i, r in enumerate(roles)}
    )
    path = save_pairing(p, tmp_path / "pairing.json")
    back = load_pairing(path)
    assert back == p and back.layout.roles == roles and back.layout.side == "both"
    left = back.for_side("left")
    assert left.side == "left" and list(left.sensors) == ["thigh", "shin", "pelvis", "trunk"]
    assert left.sensors["shin"].address == "AA:01"
    odd = Pairing(
        "both", {"left_thigh": PairedSensor("A", "x"), "right_shin": PairedSensor("B", "x")}
    )
    save_pairing(odd, path)  # stored as given; refused where it is used
    with pytest.raises(LayoutError, match=r"saved pairing .* left leg has a thigh .* pair' again"):
        assert load_pairing(path).layout is None  # raises first
