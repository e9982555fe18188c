from lianxin.config import load_config, substitute


def test_environment_value_replaces_the_default():
    assert (
        substitute("${DB:sqlite:///x.db}", {"DB": "postgresql+psycopg2://h/db"})
        == "postgresql+psycopg2://h/db"
    )


def test_default_is_used_when_the_variable_is_unset_or_empty():
    assert substitute("port: ${PORT:9101}", {}) == "port: 9101"
    assert substitute("port: ${PORT:9101}", {"PORT": ""}) == "port: 9101"


def test_default_may_name_the_var_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LIANXIN_VAR_DIR", str(tmp_path))
    assert (
        substitute("${TICKETS_DB_URL:sqlite:///{var}/tickets.db}", {})
        == f"sqlite:///{tmp_path}/tickets.db"
    )


def test_a_secret_without_default_is_empty_not_invented():
    assert substitute("secret: '${LIANXIN_JWT_SECRET}'", {}) == "secret: ''"


def test_yaml_types_survive_substitution(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("METRICS_PORT: ${P:9101}\nDEBUG: ${D:false}\nAMQP_URI: ${A:pyamqp://g@h/}\n")
    assert load_config(path, {}) == {
        "METRICS_PORT": 9101,
        "DEBUG": False,
        "AMQP_URI": "pyamqp://g@h/",
    }
