import pytest

from vault.errors import PassphraseError
from vault.passphrase import PassphraseSource


def test_file_comes_first_and_one_newline_is_stripped(tmp_path):
    f = tmp_path / "pw"
    f.write_text("correct horse\n\n")
    src = PassphraseSource(file=f, env={"RINGFENCE_PASSPHRASE": "other"}, interactive=False)
    assert src.get() == "correct horse\n"


def test_env_order(tmp_path):
    f = tmp_path / "pw"
    f.write_text("from-file")
    env = {
        "RINGFENCE_PASSPHRASE_FILE": str(f),
        "RINGFENCE_PASSPHRASE_COMMAND": "echo from-command",
        "RINGFENCE_PASSPHRASE": "from-env",
    }
    assert PassphraseSource(env=env, interactive=False).get() == "from-file"
    del env["RINGFENCE_PASSPHRASE_FILE"]
    assert PassphraseSource(env=env, interactive=False).get() == "from-command"
    del env["RINGFENCE_PASSPHRASE_COMMAND"]
    assert PassphraseSource(env=env, interactive=False).get() == "from-env"


def test_no_source_and_no_terminal_is_a_clear_error():
    with pytest.raises(PassphraseError, match="no passphrase"):
        PassphraseSource(env={}, interactive=False).get()


def test_empty_is_refused(tmp_path):
    with pytest.raises(PassphraseError, match="empty"):
        PassphraseSource(env={"RINGFENCE_PASSPHRASE": ""}, interactive=False).get()


def test_new_passphrase_is_asked_twice_and_must_match():
    answers = iter(["one", "two"])
    src = PassphraseSource(env={}, prompt=lambda _p: next(answers))
    with pytest.raises(PassphraseError, match="differ"):
        src.get_new()
    answers2 = iter(["same", "same"])
    assert PassphraseSource(env={}, prompt=lambda _p: next(answers2)).get_new() == "same"


def test_failing_command_does_not_echo_its_output():
    src = PassphraseSource(
        env={"RINGFENCE_PASSPHRASE_COMMAND": "sh -c 'echo secret; exit 3'"}, interactive=False
    )
    with pytest.raises(PassphraseError) as info:
        src.get()
    assert "secret" not in str(info.value)
    assert "status 3" in str(info.value)


def test_missing_file_is_a_passphrase_error(tmp_path):
    with pytest.raises(PassphraseError, match="cannot read"):
        PassphraseSource(file=tmp_path / "nope", env={}).get()


def test_a_command_that_never_stops_printing_is_refused_not_read_whole():
    # `yes` prints without end: the command's output is read with the same
    # bound as a passphrase file, and the command is stopped.
    src = PassphraseSource(env={"RINGFENCE_PASSPHRASE_COMMAND": "yes"}, interactive=False)
    with pytest.raises(PassphraseError, match="longer than"):
        src.get()


def test_a_command_that_prints_then_waits_is_stopped_at_the_time_limit(monkeypatch):
    import vault.passphrase as pp

    monkeypatch.setattr(pp, "COMMAND_TIMEOUT", 0.5)
    src = PassphraseSource(
        env={"RINGFENCE_PASSPHRASE_COMMAND": "sh -c 'echo part; exec sleep 600'"},
        interactive=False,
    )
    with pytest.raises(PassphraseError, match="did not finish"):
        src.get()
