"""Several replicas of the dashboard behind nginx with sticky sessions, all on one database file.

    .venv/bin/python bench/replicas.py [--replicas 2] [--db PATH]     # start them, print the URL, wait

Each replica is a ``python -m stls serve`` process on its own port, reading the same database
file (``STLS_DB``). An import (the CLI, or the Data page on any replica) swaps in a new version of
that file; every replica opens the new version on its next script run, so all show it. nginx
(Debian package ``nginx-light``) sends each browser to one replica for good: the first response
sets a cookie ``stls_replica`` (a random id) and requests are routed by a consistent hash of it,
so the page's websocket, its reconnections and a sign-in's redirect and callback reach the same
process. ``CONFIG`` below is the configuration docs/many-users.md describes.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    client_max_body_size 25m;                      # the Data page's upload limit (STLS_UPLOAD_MAX_MB) and some

    # sticky sessions: a browser keeps the replica its first response chose
    map $cookie_stls_replica $stls_route {{
        ""      $request_id;
        default $cookie_stls_replica;
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      close;
    }}
    upstream stls {{
        hash $stls_route consistent;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://stls;
            proxy_http_version 1.1;                 # websockets: /_stcore/stream
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1d;                  # a page left open all day keeps its socket
            proxy_buffering off;
            add_header Set-Cookie "stls_replica=$stls_route; Path=/; HttpOnly; SameSite=Lax" always;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen | None = None, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{proc.args[:4]} exited with {proc.returncode}") from None
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


class Cluster:
    """``replicas`` servers on ``db``; with more than one, nginx in front. ``url`` is what a
    browser opens."""

    def __init__(self, db: Path, replicas: int = 1):
        self.db, self.replicas = Path(db), replicas
        self.folder = Path(tempfile.mkdtemp(prefix="stls-replicas-"))
        self.ports = [free_port() for _ in range(replicas)]
        self.servers: list[subprocess.Popen] = []
        self.proxy: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        env = {**os.environ, "STLS_DB": str(self.db)}
        for i, port in enumerate(self.ports):
            log = open(self.folder / f"server-{i}.log", "wb")
            self.servers.append(subprocess.Popen(
                [sys.executable, "-m", "stls", "serve", "--server.port", str(port), "--server.address", "127.0.0.1",
                 "--server.headless", "true"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        for proc, url in zip(self.servers, self.replica_urls()):
            wait_for(f"{url}/_stcore/health", proc)
        if self.replicas > 1:
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            if not os.path.exists(nginx):
                raise RuntimeError("nginx is not installed: apt-get install nginx-light")
            port = free_port()
            servers = "\n".join(f"        server 127.0.0.1:{p};" for p in self.ports)
            conf = self.folder / "nginx.conf"
            conf.write_text(CONFIG.format(folder=self.folder, servers=servers, port=port))
            self.proxy = subprocess.Popen([nginx, "-p", str(self.folder), "-c", str(conf), "-g", "daemon off;"],
                                          stdout=subprocess.DEVNULL, stderr=open(self.folder / "nginx.out", "wb"))
            self.url = f"http://127.0.0.1:{port}"
            wait_for(f"{self.url}/_stcore/health", self.proxy)

    def replica_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def pids(self) -> list[int]:
        return [p.pid for p in self.servers]

    def stop(self) -> None:
        for proc in ([self.proxy] if self.proxy else []) + self.servers:
            proc.terminate()
        for proc in ([self.proxy] if self.proxy else []) + self.servers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--db", type=Path, default=Path(os.environ.get("STLS_DB", ROOT / "data" / "stls.duckdb")))
    args = parser.parse_args()
    cluster = Cluster(args.db, args.replicas)
    cluster.start()
    print(f"{args.replicas} replicas on {args.db}: open {cluster.url} (replicas: {', '.join(cluster.replica_urls())})")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
