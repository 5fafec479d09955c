"""The CIFAR-10 downloader and `gradkit data cifar10`, against a local HTTP server.

The server runs on 127.0.0.1 and serves a tiny archive in the real layout
(cifar-10-batches-py/ with data_batch_1..5, test_batch, batches.meta and
readme.html; each batch a few rows written by write_cifar10_batch). No test
uses the network.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from gradkit.course.cli import main
from gradkit.data import (
    DownloadError,
    download,
    download_cifar10,
    find_cifar10,
    load_cifar10,
    write_cifar10_batch,
)

ROWS = 4


def _tiny_archive(tmp: Path, bad_member: str | None = None) -> bytes:
    src = tmp / "src" / "cifar-10-batches-py"
    src.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        write_cifar10_batch(
            src / name,
            rng.integers(0, 256, size=(ROWS, 32, 32, 3), dtype=np.uint8),
            rng.integers(0, 10, size=ROWS),
        )
    with open(src / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": [b"airplane"] * 10, b"num_cases_per_batch": ROWS}, fh)
    (src / "readme.html").write_text("<html>tiny CIFAR-10</html>")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-py")
        if bad_member:
            info = tarfile.TarInfo(bad_member)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        server = self.server
        server.ranges.append(self.headers.get("Range"))
        body = server.payload
        start = 0
        rng = self.headers.get("Range")
        if rng and server.ranges_ok:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        elif server.status != 200:
            self.send_error(server.status)
            return
        else:
            self.send_response(200)
        rest = body[start:]
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        if server.truncate:
            self.wfile.write(rest[: len(rest) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(rest)


@pytest.fixture
def archive(tmp_path):
    return _tiny_archive(tmp_path)


@pytest.fixture
def server(archive):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.payload = archive
    httpd.ranges = []
    httpd.ranges_ok = True
    httpd.truncate = False
    httpd.status = 200
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/cifar-10-python.tar.gz"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"


def _get(root, server, **kw):
    return download_cifar10(
        root, url=server.url, md5=_md5(server.payload), progress=False, log=None, **kw
    )


def _no_dataset(root: Path):
    assert not (root / "cifar-10-batches-py").exists()
    assert not list(root.glob(".cifar10-unpack-*"))
    assert not (root / "cifar-10-python.tar.gz").exists()


def test_download_verifies_unpacks_and_loads(tmp_path, server):
    root = tmp_path / "data"
    folder = _get(root, server)
    assert folder == root / "cifar-10-batches-py"
    data = load_cifar10(folder, num_validation=2)
    assert data["X_train"].shape == (5 * ROWS - 2, 32, 32, 3)
    assert data["X_test"].shape == (ROWS, 32, 32, 3)
    assert (folder / "batches.meta").is_file()
    # nothing left behind: no partial file, no archive, no temporary folder
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py"]
    assert find_cifar10(root) == folder and find_cifar10(folder) == folder
    # a second call needs no server
    server.shutdown()
    messages = []
    again = download_cifar10(root, url=_closed_port_url(), log=messages.append, progress=False)
    assert again == folder and "already" in messages[0]


def test_bad_checksum_is_one_error_and_leaves_nothing(tmp_path, server):
    good = server.payload
    server.payload = good[:100] + bytes([good[100] ^ 0xFF]) + good[101:]
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as err:
        download_cifar10(root, url=server.url, md5=_md5(good), progress=False, log=None)
    msg = str(err.value)
    assert "\n" not in msg and "MD5" in msg and _md5(good) in msg and "deleted" in msg
    _no_dataset(root)
    assert not (root / "cifar-10-python.tar.gz.part").exists()


def test_truncated_download_errors_then_resumes(tmp_path, server):
    root = tmp_path / "data"
    server.truncate = True
    with pytest.raises(DownloadError) as err:
        _get(root, server)
    msg = str(err.value)
    assert "\n" not in msg and "interrupted" in msg and "resume" in msg
    _no_dataset(root)
    part = root / "cifar-10-python.tar.gz.part"
    assert 0 < part.stat().st_size < len(server.payload)
    # the next run asks only for the missing bytes
    have = part.stat().st_size
    server.truncate = False
    folder = _get(root, server)
    assert server.ranges[-1] == f"bytes={have}-"
    assert find_cifar10(root) == folder
    assert not part.exists()


def test_server_without_ranges_restarts_from_scratch(tmp_path, server):
    root = tmp_path / "data"
    root.mkdir()
    (root / "cifar-10-python.tar.gz.part").write_bytes(server.payload[:50])
    server.ranges_ok = False
    folder = _get(root, server)
    assert server.ranges == ["bytes=50-"] and find_cifar10(root) == folder


def test_complete_part_file_is_not_downloaded_again(tmp_path, server):
    root = tmp_path / "data"
    root.mkdir()
    (root / "cifar-10-python.tar.gz.part").write_bytes(server.payload)
    folder = _get(root, server)  # the server answers 416: nothing left to send
    assert find_cifar10(root) == folder


def test_missing_server_is_one_clear_error(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as err:
        download_cifar10(root, url=_closed_port_url(), progress=False, log=None, timeout=5)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("cannot reach 127.0.0.1") and "network" in msg
    _no_dataset(root)


def test_http_error_is_one_line(tmp_path, server):
    server.status = 404
    server.ranges_ok = False
    with pytest.raises(DownloadError, match=r"^127\.0\.0\.1:\d+ answered HTTP 404"):
        _get(tmp_path / "data", server)
    _no_dataset(tmp_path / "data")


def test_archive_placed_by_hand_is_verified_and_unpacked_offline(tmp_path, archive):
    root = tmp_path / "data"
    root.mkdir()
    (root / "cifar-10-python.tar.gz").write_bytes(archive)
    folder = download_cifar10(
        root, url=_closed_port_url(), md5=_md5(archive), progress=False, log=None
    )
    assert find_cifar10(root) == folder
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "cifar-10-python.tar.gz").write_bytes(archive[:-10])
    with pytest.raises(DownloadError, match="not the published"):
        download_cifar10(tmp_path / "other", md5=_md5(archive), progress=False, log=None)
    assert not (tmp_path / "other" / "cifar-10-batches-py").exists()


def test_archive_with_unsafe_member_is_refused(tmp_path):
    bad = _tiny_archive(tmp_path, bad_member="cifar-10-batches-py/link")
    root = tmp_path / "data"
    root.mkdir()
    (root / "cifar-10-python.tar.gz").write_bytes(bad)
    with pytest.raises(DownloadError, match="unexpected entry"):
        download_cifar10(root, md5=_md5(bad), progress=False, log=None)
    assert not (root / "cifar-10-batches-py").exists()
    assert not list(root.glob(".cifar10-unpack-*"))


def test_find_cifar10_reads_the_environment(tmp_path, monkeypatch, server):
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "nowhere"))
    monkeypatch.delenv("GRADKIT_CIFAR10", raising=False)
    assert find_cifar10() is None
    folder = _get(tmp_path / "elsewhere", server)
    monkeypatch.setenv("GRADKIT_CIFAR10", str(folder))
    assert find_cifar10() == folder
    monkeypatch.delenv("GRADKIT_CIFAR10")
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "elsewhere"))
    assert download.default_data_dir() == tmp_path / "elsewhere"
    assert find_cifar10() == folder


def test_cli_downloads_and_prints_where(tmp_path, server, monkeypatch, capsys):
    monkeypatch.setattr(download, "CIFAR10_URL", server.url)
    monkeypatch.setattr(download, "CIFAR10_MD5", _md5(server.payload))
    code = main(["data", "cifar10", "--dir", str(tmp_path / "d"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"CIFAR-10 python batches in {tmp_path / 'd' / 'cifar-10-batches-py'}" in out


def test_cli_errors_are_one_line_with_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(download, "CIFAR10_URL", _closed_port_url())
    code = main(["data", "cifar10", "--dir", str(tmp_path / "d"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("gradkit: error: cannot reach 127.0.0.1")
    assert not (tmp_path / "d" / "cifar-10-batches-py").exists()
