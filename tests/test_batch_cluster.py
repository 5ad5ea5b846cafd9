"""How the Ray engine finds its token and decides how to join a cluster (mer.batch.cluster), without starting Ray:
the cluster's answers are stood in for. A real local Ray and a real cluster run in test_batch_ray.py."""

from __future__ import annotations

import socket

import pytest

from mer.batch import cluster
from mer.errors import BatchError


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder of no token, and no token in the environment."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_the_token_is_looked_for_in_rays_order(home, monkeypatch):
    assert cluster.auth_token_source() is None
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text("  \n")
    assert cluster.auth_token_source() is None  # an empty file is no token
    (home / ".ray" / "auth_token").write_text("abc\n")
    assert cluster.auth_token_source() == str(home / ".ray" / "auth_token")
    named = home / "elsewhere"
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(named))
    assert cluster.auth_token_source() is None  # the named file wins over the home folder's, even when missing
    named.write_text("def")
    assert cluster.auth_token_source() == str(named)
    monkeypatch.setenv("RAY_AUTH_TOKEN", "ghi")
    assert cluster.auth_token_source() == "RAY_AUTH_TOKEN"


@pytest.mark.parametrize("address", ["nohost", "host:", ":6379", "host:http", "host:0", "host:65536"])
def test_an_address_that_is_not_host_and_port_is_refused_with_the_form_it_takes(address):
    with pytest.raises(BatchError, match="--address takes HOST:PORT"):
        cluster._split_address(address)


def test_host_and_port_are_read_ipv6_brackets_too():
    assert cluster._split_address(" 10.0.0.2:6379 ") == ("10.0.0.2", 6379)
    assert cluster._split_address("[::1]:6380") == ("::1", 6380)


@pytest.fixture
def listening():
    """HOST:PORT of a socket that accepts connections (what a head node's GCS port looks like from outside)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield f"127.0.0.1:{s.getsockname()[1]}"


def test_an_address_where_nothing_listens_is_refused_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(BatchError, match=f"Cannot connect to the Ray cluster at '127.0.0.1:{port}'"):
            cluster._reachable(f"127.0.0.1:{port}")


@pytest.fixture
def gcs(monkeypatch):
    """A stand-in cluster: ``wants`` is the mode it uses; returns the modes this process was set to."""
    state = {"wants": "disabled", "mode": None, "set": []}

    def set_mode(mode: str) -> None:
        state["mode"] = mode
        state["set"].append(mode)

    monkeypatch.setattr(cluster, "_set_auth_mode", set_mode)
    monkeypatch.setattr(cluster, "_answers", lambda address: state["wants"] == "disabled" or state["mode"] == "token")
    return state


def test_a_cluster_without_authentication_is_joined_without_a_token(home, listening, gcs):
    assert cluster.join_mode(listening) == "disabled" and gcs["set"] == ["disabled", "disabled"]


def test_a_cluster_that_wants_a_token_is_joined_with_this_machines(home, listening, gcs, monkeypatch):
    gcs["wants"] = "token"
    with pytest.raises(BatchError, match="uses token authentication and this machine has no token.*ray get-auth-token"):
        cluster.join_mode(listening)
    monkeypatch.setenv("RAY_AUTH_TOKEN", "abc")
    assert cluster.join_mode(listening) == "token" and gcs["mode"] == "token"


def test_the_users_mode_wins_and_is_checked_against_the_cluster(home, listening, gcs, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "Tokens")
    with pytest.raises(BatchError, match="RAY_AUTH_MODE is 'tokens'; Ray knows disabled and token"):
        cluster.join_mode(listening)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    gcs["wants"] = "token"
    with pytest.raises(BatchError, match="RAY_AUTH_MODE=disabled here sends no token: unset RAY_AUTH_MODE"):
        cluster.join_mode(listening)
    assert gcs["set"] == ["disabled"]  # never asked without the user's mode
