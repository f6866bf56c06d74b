"""redis-py against `stratacache serve`: the idioms our Python users write today."""

import pickle
from datetime import timedelta

import redis


def client(sock, **kw):
    return redis.Redis(unix_socket_path=sock, **kw)


def test_ping_get_set_and_ttls(server):
    r = client(server)
    assert r.ping()
    assert r.set("ocr:user:123:profile", b"{}", ex=300)
    assert r.get("ocr:user:123:profile") == b"{}"
    assert 299 <= r.ttl("ocr:user:123:profile") <= 300
    assert r.setex("status:9", timedelta(minutes=1), "processing")
    assert r.get("status:9") == b"processing"
    assert r.get("missing") is None
    assert r.ttl("missing") == -2
    assert r.set("plain", "x") and r.ttl("plain") == -1
    assert r.expire("plain", 60) and 59 <= r.ttl("plain") <= 60
    assert r.persist("plain") and r.ttl("plain") == -1
    assert r.exists("plain", "missing") == 1
    assert r.set("only-new", 1, nx=True)
    assert r.set("only-new", 2, nx=True) is None
    assert r.getdel("only-new") == b"1"


def test_pickled_values_round_trip_byte_for_byte(server):
    r = client(server)
    result = {"id": 7, "text": "Grüße", "confidence": 0.93, "pages": list(range(50))}
    blob = pickle.dumps(result)
    r.set("ocr:result:7", blob, ex=timedelta(hours=24))
    assert pickle.loads(r.get("ocr:result:7")) == result
    binary = bytes(range(256)) * 100
    r.set("bin", binary)
    assert r.get("bin") == binary


def test_many_keys_pipelines_and_pattern_invalidation(server):
    r = client(server, decode_responses=True)
    r.mset({f"cache:user:{i}": str(i) for i in range(100)})
    r.mset({f"cache:doc:{i}": str(i) for i in range(10)})
    assert r.mget(["cache:user:1", "nope", "cache:user:99"]) == ["1", None, "99"]
    with r.pipeline() as p:
        for i in range(50):
            p.set(f"pipe:{i}", i, ex=60)
        p.get("pipe:7")
        replies = p.execute()
    assert replies[-1] == "7" and all(replies[:-1])
    # invalidate_pattern("cache:user:*") as the services write it.
    matched = list(r.scan_iter(match="cache:user:*", count=17))
    assert len(matched) == 100
    assert r.delete(*matched) == 100
    assert sorted(r.keys("cache:*")) == sorted(f"cache:doc:{i}" for i in range(10))
    assert r.dbsize() == 60


def test_info_reports_hits_and_misses(server):
    r = client(server)
    r.set("k", "v")
    r.get("k")
    r.get("k")
    r.get("absent")
    stats = r.info("stats")
    assert stats["keyspace_hits"] == 2
    assert stats["keyspace_misses"] == 1
    everything = r.info()
    assert "redis_version" in everything and "connected_clients" in everything
    assert r.info("keyspace")["db0"]["keys"] == 1


def test_resp3_and_client_names(server):
    r = client(server, protocol=3)
    assert r.set("k", "v")
    assert r.get("k") == b"v"
    assert r.get("nothing") is None
    r.client_setname("ocr-worker")
    assert r.client_getname() == b"ocr-worker"
    names = [c["name"] for c in r.client_list()]
    assert "ocr-worker" in names


def test_errors_are_redis_errors(server):
    r = client(server)
    try:
        r.lpush("queue", "job")
    except redis.ResponseError as e:
        assert "unknown command 'lpush'" in str(e).lower()
    else:
        raise AssertionError("LPUSH should fail")
    try:
        r.execute_command("SELECT", 2)
    except redis.ResponseError as e:
        assert "DB index is out of range" in str(e)
    else:
        raise AssertionError("SELECT 2 should fail")
