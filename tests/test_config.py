import pytest

from imuhip.config import ConfigError, PairedSensor, Pairing, load_pairing, save_pairing


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
