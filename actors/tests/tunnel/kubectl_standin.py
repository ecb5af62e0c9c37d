"""A STAND-IN for `kubectl port-forward`, for Portcullis's fast tunnel tests.

It is not kubectl. It mimics what a tunnel supervisor sees of kubectl 1.32
(shared/docs/tunnels.md, sections 1 and 4(b)), with no API server:

- pod lookup first: if STANDIN_POD_FILE is set and that file is missing, it
  prints `Error from server (NotFound): pods "NAME" not found` and exits 1;
- binds 127.0.0.1:P (and [::1]:P unless --address=127.0.0.1) with
  SO_REUSEADDR; one address is enough; if none binds it prints the
  "Unable to listen" and "unable to listen on any of the requested ports"
  lines and exits 1; port 0 prints the kernel's port;
- prints `Forwarding from 127.0.0.1:P -> R` (and `[::1]`), then one
  `Handling connection for P` per accepted connection, written synchronously
  (so an undrained pipe stalls it as it stalls kubectl);
- forwards each connection to STANDIN_TARGET (host:port, the "pod port");
  when that refuses it closes the client (EOF, not a refusal), prints the
  forwarding error and `error: lost connection to pod`, and exits 1, or 0
  when STANDIN_EXIT_ZERO=1 (kubectl 1.23-1.26);
- SIGINT exits 0; SIGTERM and SIGKILL kill it;
- STANDIN_DELAY_MS delays the start (the API round trips); STANDIN_LOG gets
  one line per start: `start pid=N port=P reserved=yes|no`, where reserved
  says whether a plain bind (no SO_REUSEADDR) of P was refused beforehand.
"""

import errno
import os
import selectors
import signal
import socket
import sys
import threading
import time


def say(line, stream=sys.stdout):
    stream.write(line + "\n")
    stream.flush()


def parse_args(argv):
    namespace, pod, address, mapping = "default", None, "localhost", None
    it = iter(argv)
    for arg in it:
        if arg == "-n":
            namespace = next(it)
        elif arg.startswith("pod/"):
            pod = arg[len("pod/"):]
        elif arg.startswith("--address="):
            address = arg.split("=", 1)[1]
        elif ":" in arg and not arg.startswith("-"):
            mapping = arg
    local, remote = mapping.split(":")
    return namespace, pod, address, int(local), int(remote)


def plainly_bindable(port):
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def listen(family, host, port):
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def splice(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def forward(client, target, port, remote, pod):
    host, tport = target.rsplit(":", 1)
    try:
        upstream = socket.create_connection((host, int(tport)), timeout=5)
    except OSError as err:
        client.close()
        say('E1128 portforward.go:413] "an error occurred forwarding %d -> %d: error forwarding port %d '
            'to pod %s, uid : failed to connect to localhost:%d inside namespace: %s"'
            % (port, remote, remote, pod, remote, err), sys.stderr)
        say("error: lost connection to pod", sys.stderr)
        os._exit(0 if os.environ.get("STANDIN_EXIT_ZERO") == "1" else 1)
    upstream.settimeout(None)
    threading.Thread(target=splice, args=(upstream, client), daemon=True).start()
    splice(client, upstream)


def main():
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    namespace, pod, address, port, remote = parse_args(sys.argv[1:])
    delay = int(os.environ.get("STANDIN_DELAY_MS", "0"))
    if delay:
        time.sleep(delay / 1000)
    if os.environ.get("STANDIN_LOG"):
        reserved = "no" if port == 0 or plainly_bindable(port) else "yes"
        with open(os.environ["STANDIN_LOG"], "a") as log:
            log.write("start pid=%d port=%d reserved=%s\n" % (os.getpid(), port, reserved))
    pod_file = os.environ.get("STANDIN_POD_FILE")
    if pod_file and not os.path.exists(pod_file):
        say('Error from server (NotFound): pods "%s" not found' % pod, sys.stderr)
        sys.exit(1)
    wanted = [(socket.AF_INET, "127.0.0.1", "127.0.0.1")]
    if address == "localhost":
        wanted.append((socket.AF_INET6, "::1", "[::1]"))
    listeners, errors = [], []
    for family, host, shown in wanted:
        try:
            sock = listen(family, host, port)
            port = sock.getsockname()[1]
            listeners.append((sock, shown))
        except OSError as err:
            kind = "tcp4" if family == socket.AF_INET else "tcp6"
            reason = "address already in use" if err.errno == errno.EADDRINUSE else err.strerror
            errors.append("unable to create listener: Error listen %s %s:%d: bind: %s" % (kind, shown, port, reason))
    if not listeners:
        say("Unable to listen on port %d: Listeners failed to create with the following errors: [%s]"
            % (port, " ".join(errors)), sys.stderr)
        say("error: unable to listen on any of the requested ports: [{%d %d}]" % (port, remote), sys.stderr)
        sys.exit(1)
    for sock, shown in listeners:
        say("Forwarding from %s:%d -> %d" % (shown, port, remote))
    target = os.environ["STANDIN_TARGET"]
    selector = selectors.DefaultSelector()
    for sock, _ in listeners:
        selector.register(sock, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            client, _ = key.fileobj.accept()
            say("Handling connection for %d" % port)
            threading.Thread(target=forward, args=(client, target, port, remote, pod), daemon=True).start()


if __name__ == "__main__":
    main()
