# Portcullis console streaming: the pieces shared by the node and the executor.
#
# On a node, the `command` module (library/command.py) writes every line a
# task's command prints to /tmp/console-<log id>.log as it is printed, and
# makes sure a console server (this file's `serve`) listens on the node's
# console port. On the executor, the stdout callback
# (callback/portcullis_stream.py) follows that file through the server with
# `Follower` while the task runs, and prints each line as
# `<time> | <host> | <line>`.
#
# The wire protocol is Zuul's console protocol, so either side also works with
# Zuul's: the client sends `v:0\n` and reads the server's version line (`1\n`),
# then `s:<log id>\n` to receive the file from its first byte as it grows, or
# `f:<log id>\n` to have it deleted. A bare `<log id>\n` is a stream request
# from an old client. While the file does not exist the server repeats
# `[Zuul] Log not found\n`. The command writes `[Zuul] Task exit code: N` as its
# log's last line, which is where a client stops.
#
# Stdlib only, Python 3.6 and later: it runs on any node Ansible can reach.

import datetime
import errno
import os
import select
import socket
import sys
import threading
import time

DEFAULT_PORT = 19885
LOG_DIR = '/tmp'
PROTOCOL_VERSION = 1
EXIT_MARKER = '[Zuul] Task exit code: '
NOT_FOUND = '[Zuul] Log not found'
# A request line is short; the limit keeps a stray client from filling memory.
MAX_REQUEST = 1024
REQUEST_TIMEOUT = 10.0
# How often the server looks at a growing file: small, since every line of
# every running command waits at most this long to reach the build's log.
FOLLOW_INTERVAL = 0.02
NOT_FOUND_INTERVAL = 0.5
# Connections whose host runs the command on the executor's own machine.
LOOPBACK_CONNECTIONS = ('local', 'ansible.builtin.local', 'ansible.legacy.local')
# Connections that reach the node's console through a local tunnel port.
TUNNEL_CONNECTIONS = ('kubectl', 'kubernetes.core.kubectl', 'community.kubernetes.kubectl')


def log_path(log_dir, log_id):
    """The file a task's output goes to; the id may carry no path."""
    name = os.path.basename(log_id.strip().replace('\\', '/'))
    if name in ('', '.', '..'):
        name = 'invalid'
    return os.path.join(log_dir, 'console-%s.log' % name)


def stamp(now=None):
    """The time prefix of a log line, as in job-output.txt."""
    now = now or datetime.datetime.now()
    return now.strftime('%Y-%m-%d %H:%M:%S.%f')


class Endpoint(object):
    """Where one host's console server listens, and how the executor gets there."""

    def __init__(self, node_port, listen, address, port, log_dir):
        self.node_port = node_port  # the server's port on the node
        self.listen = listen        # the server's address on the node
        self.address = address      # what the executor connects to ...
        self.port = port            # ... on this port
        self.log_dir = log_dir      # the server's log dir on the node


def endpoint(get):
    """A host's console `Endpoint`, from its variables (`get(name)`).

    `zuul_console_port` wins. A host run on the executor's machine uses the
    build's own port and log dir (`portcullis_console_local_port`,
    `portcullis_console_local_dir`), so builds never share a server and a
    build's logs go with its work dir. A tunnelled host (a pod) listens on the
    default port in the pod and is reached through the tunnel's local port,
    which is then its `zuul_console_port`.
    """
    connection = str(get('ansible_connection') or 'ssh')
    local = connection in LOOPBACK_CONNECTIONS
    tunnelled = connection in TUNNEL_CONNECTIONS
    port = get('zuul_console_port')
    if port in (None, ''):
        port = get('portcullis_console_local_port') if local else None
    port = int(port or DEFAULT_PORT)
    if local or tunnelled:
        address = '127.0.0.1'
    else:
        address = str(get('ansible_host') or get('inventory_hostname'))
    log_dir = (get('portcullis_console_local_dir') if local else None) or LOG_DIR
    return Endpoint(
        node_port=DEFAULT_PORT if tunnelled else port,
        listen='127.0.0.1' if local else '::',
        address=address,
        port=port,
        log_dir=str(log_dir))


def streamed(task):
    """True when a command task's output is streamed: the action plugin and
    the callback both ask, of the same task. Loops, async, delegated and
    no_log tasks show their output in their results only."""
    return not (task.loop or task.loop_with or task.delegate_to
                or task.async_val or task.no_log)


def disabled(get):
    """True when the host's `zuul_console_disabled` turns streaming off."""
    value = get('zuul_console_disabled')
    if isinstance(value, str):
        return value.strip().lower() in ('1', 'true', 'yes', 'on')
    return bool(value)


def log_id(task_uuid, hostname):
    """The log id of one task on one host, the same on both sides; a file
    name, so the host name keeps only what a file name safely holds."""
    safe = ''.join(c if c.isalnum() or c in '-_.' else '_' for c in hostname)
    return '%s-%s' % (task_uuid, safe)


# -- the server ---------------------------------------------------------------

def bind(listen, port):
    """A listening socket on (listen, port); IPv4 when IPv6 is missing."""
    family = socket.AF_INET6 if ':' in listen else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        if family != socket.AF_INET6:
            raise
        family, listen = socket.AF_INET, '0.0.0.0'
        sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((listen, port))
    sock.listen(64)
    return sock


def serve(sock, log_dir=LOG_DIR):
    """Answers console requests on `sock` forever, one thread per client."""
    while True:
        try:
            conn, _ = sock.accept()
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            raise
        worker = threading.Thread(target=_answer, args=(conn, log_dir))
        worker.daemon = True
        worker.start()


class _Requests(object):
    """Request lines from one client."""

    def __init__(self, conn):
        self.conn = conn
        self.buf = b''

    def next(self):
        while b'\n' not in self.buf:
            if len(self.buf) > MAX_REQUEST:
                return None
            data = self.conn.recv(MAX_REQUEST)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return line.decode('utf-8', 'replace').strip()


def _answer(conn, log_dir):
    try:
        conn.settimeout(REQUEST_TIMEOUT)
        requests = _Requests(conn)
        request = requests.next()
        if request is not None and request.startswith('v:'):
            conn.sendall(('%d\n' % PROTOCOL_VERSION).encode())
            request = requests.next()
        if request is None:
            return
        if request.startswith('f:'):
            try:
                os.unlink(log_path(log_dir, request[2:]))
            except OSError:
                pass
            return
        if request.startswith('s:'):
            request = request[2:]
        conn.settimeout(None)
        _follow(conn, log_path(log_dir, request))
    except (OSError, socket.timeout):
        pass
    finally:
        conn.close()


def _client_left(conn, timeout):
    """Waits up to `timeout`; True when the client closed its end."""
    readable, _, _ = select.select([conn], [], [], timeout)
    if not readable:
        return False
    try:
        return not conn.recv(MAX_REQUEST)
    except OSError:
        return True


def _follow(conn, path):
    """Sends `path` from its start as it grows, until the client leaves.

    A file that is replaced or shrinks is sent again from its start.
    """
    log = None
    last_notice = 0.0
    while True:
        if log is None:
            try:
                log = open(path, 'rb')
                inode = os.fstat(log.fileno()).st_ino
            except (IOError, OSError):
                now = time.time()
                if now - last_notice >= NOT_FOUND_INTERVAL:
                    conn.sendall((NOT_FOUND + '\n').encode())
                    last_notice = now
                if _client_left(conn, FOLLOW_INTERVAL):
                    return
                continue
        chunk = log.read(65536)
        if chunk:
            conn.sendall(chunk)
            continue
        try:
            st = os.stat(path)
            replaced = st.st_ino != inode or st.st_size < log.tell()
        except OSError:
            replaced = False
        if replaced:
            log.close()
            log = None
            continue
        if _client_left(conn, FOLLOW_INTERVAL):
            log.close()
            return


def _watch(pid):
    """Ends the server once process `pid` (the playbook) is gone."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except OSError as e:
            if e.errno == errno.ESRCH:
                os._exit(0)


def is_listening(address, port):
    """True when something accepts connections on (address, port)."""
    try:
        sock = socket.create_connection((address, port), timeout=1.0)
    except (OSError, socket.timeout):
        return False
    sock.close()
    return True


def ensure_running(port, listen='::', log_dir=LOG_DIR, watch_pid=None):
    """Starts a detached console server unless one listens on `port`.

    Returns None when a server listens (already, or now), else why not.
    `watch_pid` ends the server with that process.
    """
    probe = '127.0.0.1' if listen in ('::', '0.0.0.0', '127.0.0.1') else listen
    if is_listening(probe, port):
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _daemon(port, listen, log_dir, watch_pid, write_end)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, 'rb') as status:
        word = status.read().decode('utf-8', 'replace')
    if word == 'ok' or 'Address already in use' in word:
        # Another task started one first; that one serves us just as well.
        return None
    return word or 'the console server did not start'


def _daemon(port, listen, log_dir, watch_pid, status_fd):
    """The forked child: detaches, binds, reports, serves; never returns."""
    try:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        os.chdir('/')
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        # The module's pipes back to Ansible must close, or its task never ends.
        os.closerange(3, status_fd)
        os.closerange(status_fd + 1, 65536)
        try:
            sock = bind(listen, port)
        except OSError as e:
            os.write(status_fd, str(e).encode())
            os._exit(1)
        os.write(status_fd, b'ok')
        os.close(status_fd)
        if watch_pid:
            watcher = threading.Thread(target=_watch, args=(watch_pid,))
            watcher.daemon = True
            watcher.start()
        serve(sock, log_dir)
    finally:
        os._exit(0)


# -- the client ---------------------------------------------------------------

class Follower(object):
    """Follows one task's log on one host and emits its lines as they come.

    Connects with backoff until the server listens, so a client that starts
    before the server loses nothing (the server sends the file from its
    start); after a broken connection it reconnects and skips the lines it
    already emitted. It ends at the log's exit marker, when cancelled, or
    once `done()` was called and the log cannot be had within a grace time.
    """

    FIRST_BACKOFF = 0.01
    MAX_BACKOFF = 0.5
    # After the task ended: how long a missing log or daemon is waited for,
    # and how long the rest of a log may take to arrive.
    MISSING_GRACE = 1.0
    TAIL_LIMIT = 30.0

    def __init__(self, address, port, log_id, emit, waiting=None):
        self.address = address
        self.port = port
        self.log_id = log_id
        self.emit = emit
        self.waiting = waiting
        self.complete = False
        self.exit_code = None
        self._emitted = 0
        self._connected = False
        self._done_at = None
        self._cancelled = False
        self._wake = threading.Event()
        self.finished = threading.Event()

    def done(self):
        """The task ended on the node: stop waiting for what will not come."""
        if self._done_at is None:
            self._done_at = time.time()
        self._wake.set()

    def cancel(self):
        """Stop now; nothing more is wanted."""
        self._cancelled = True
        self._wake.set()

    def _give_up(self, grace):
        return self._cancelled or (
            self._done_at is not None and time.time() - self._done_at > grace)

    def run(self):
        """Follows until the end; then asks the server to delete the log."""
        try:
            self._follow()
        finally:
            self.finished.set()
            if self._connected:
                self._send_only('f:%s\n' % self.log_id)

    def _follow(self):
        backoff = self.FIRST_BACKOFF
        told = False
        while not self.complete and not self._give_up(self.MISSING_GRACE):
            sock = self._connect()
            if sock is None:
                if not told and self.waiting:
                    self.waiting()
                    told = True
                if self._wake.wait(backoff):
                    # Woken by done() or cancel(): look again, then back off anew.
                    self._wake.clear()
                backoff = min(backoff * 2, self.MAX_BACKOFF)
                continue
            self._connected = True
            try:
                progressed = self._read(sock)
            finally:
                sock.close()
            if progressed:
                backoff = self.FIRST_BACKOFF

    def _connect(self):
        try:
            sock = socket.create_connection((self.address, self.port), timeout=5.0)
        except (OSError, socket.timeout):
            return None
        try:
            sock.settimeout(5.0)
            sock.sendall(b'v:0\n')
            reply = b''
            while not reply.endswith(b'\n'):
                data = sock.recv(64)
                if not data:
                    raise OSError('the console closed before its version')
                reply += data
            sock.sendall(('s:%s\n' % self.log_id).encode())
            return sock
        except (OSError, socket.timeout):
            # A tunnel that accepted before the pod listened: try again.
            sock.close()
            return None

    def _read(self, sock):
        """Reads lines until the marker or a give-up; True if any arrived."""
        sock.settimeout(0.1)
        seen = 0
        progressed = False
        buf = b''
        while True:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                grace = self.TAIL_LIMIT if seen else self.MISSING_GRACE
                if self._give_up(grace):
                    return progressed
                continue
            except OSError:
                return progressed
            if not data:
                return progressed
            buf += data
            while b'\n' in buf:
                raw, buf = buf.split(b'\n', 1)
                line = raw.decode('utf-8', 'replace').rstrip('\r')
                if line == NOT_FOUND:
                    if self._give_up(self.MISSING_GRACE):
                        return progressed
                    continue
                seen += 1
                progressed = True
                if seen <= self._emitted:
                    continue
                self._emitted = seen
                if self._line(line):
                    return progressed

    def _line(self, line):
        """Emits one log line; True at the exit marker."""
        when, sep, text = line.partition(' | ')
        if not sep:
            when, text = stamp(), line
        if text.startswith(EXIT_MARKER):
            try:
                self.exit_code = int(text[len(EXIT_MARKER):].strip())
            except ValueError:
                pass
            self.complete = True
            return True
        self.emit(when, text)
        return False

    def _send_only(self, request):
        try:
            sock = socket.create_connection((self.address, self.port), timeout=2.0)
        except (OSError, socket.timeout):
            return
        try:
            sock.settimeout(2.0)
            sock.sendall(b'v:0\n')
            sock.recv(64)
            sock.sendall(request.encode())
            # The server closes once it has done it.
            sock.recv(64)
        except (OSError, socket.timeout):
            pass
        finally:
            sock.close()


# -- a command line, for people and tests ---------------------------------------

def main(argv):
    """`serve PORT [LISTEN [LOG_DIR]]` or `follow ADDRESS PORT LOG_ID`."""
    if len(argv) >= 2 and argv[0] == 'serve':
        listen = argv[2] if len(argv) > 2 else '::'
        log_dir = argv[3] if len(argv) > 3 else LOG_DIR
        sock = bind(listen, int(argv[1]))
        sys.stdout.write('listening on %d\n' % sock.getsockname()[1])
        sys.stdout.flush()
        serve(sock, log_dir)
        return 0
    if len(argv) == 4 and argv[0] == 'follow':
        def emit(when, text):
            sys.stdout.write('%s | %s\n' % (when, text))
            sys.stdout.flush()

        def waiting():
            sys.stderr.write('waiting for the console\n')
            sys.stderr.flush()

        follower = Follower(argv[1], int(argv[2]), argv[3], emit, waiting)
        follower.run()
        return 0 if follower.complete else 1
    sys.stderr.write(main.__doc__ + '\n')
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
