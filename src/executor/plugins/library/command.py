#!/usr/bin/python
# Portcullis's `command` module (also `shell`, which runs it with _uses_shell).
#
# It behaves like Ansible's command module for the job, and in addition, when
# the executor's action plugin gave it a log id, it writes every line the
# command prints to the task's console log the moment it is printed, after
# making sure the node's console server listens, so the executor can stream
# the output while the command runs.

import datetime
import glob
import os
import selectors
import shlex
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.portcullis_console import (
    EXIT_MARKER, LOG_DIR, ensure_running, log_path, stamp)

DOCUMENTATION = r'''
module: command
short_description: Runs a command, streaming its output to the Portcullis console
options: {}
'''

# How long output may keep coming after the command exited (a background
# child can hold the pipes open); the task must not wait on it forever.
LINGER = 1.0


class ConsoleLog(object):
    """A task's console log: whole lines in one appended write, so readers
    never see half of one."""

    def __init__(self, path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.fd = fd

    def line(self, text):
        self.lines([text])

    def lines(self, texts):
        when = stamp()
        data = ''.join('%s | %s\n' % (when, text) for text in texts)
        os.write(self.fd, data.encode('utf-8', 'replace'))

    def close(self):
        os.close(self.fd)


class NoLog(object):
    """Stands in for the console log when nobody streams this task."""

    def line(self, text):
        pass

    def lines(self, texts):
        pass

    def close(self):
        pass


def run(args, chdir, stdin, log):
    """Runs the command; returns (rc, stdout bytes, stderr bytes)."""
    proc = subprocess.Popen(
        args, cwd=chdir,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if stdin is not None:
        try:
            proc.stdin.write(stdin)
        except BrokenPipeError:
            pass
        proc.stdin.close()
    streams = {proc.stdout: [b'', []], proc.stderr: [b'', []]}
    selector = selectors.DefaultSelector()
    for pipe in streams:
        selector.register(pipe, selectors.EVENT_READ)
    quiet_since = None
    while selector.get_map():
        events = selector.select(0.1)
        for key, _ in events:
            data = os.read(key.fileobj.fileno(), 65536)
            pending, chunks = streams[key.fileobj]
            if not data:
                selector.unregister(key.fileobj)
                if pending:
                    log.line(pending.decode('utf-8', 'replace'))
                    log.line('[Zuul] No trailing newline')
                streams[key.fileobj][0] = b''
                continue
            chunks.append(data)
            pending += data
            *lines, pending = pending.split(b'\n')
            if lines:
                log.lines(line.decode('utf-8', 'replace').rstrip('\r') for line in lines)
            streams[key.fileobj][0] = pending
        if events or proc.poll() is None:
            quiet_since = None
            continue
        quiet_since = quiet_since or time.time()
        if time.time() - quiet_since > LINGER:
            log.line('[Zuul] standard output/error still open after child exited')
            break
    selector.close()
    rc = proc.wait()
    return rc, b''.join(streams[proc.stdout][1]), b''.join(streams[proc.stderr][1])


def command_args(params):
    """The argv (or shell string) and what the result reports as `cmd`."""
    shell = params['_uses_shell']
    if params['argv']:
        args = params['argv']
    else:
        args = params['_raw_params'] or params['cmd']
    if shell:
        if isinstance(args, list):
            args = ' '.join(shlex.quote(a) for a in args)
        return [params['executable'] or '/bin/sh', '-c', args], args
    if not isinstance(args, list):
        args = shlex.split(args)
    if params['expand_argument_vars']:
        args = [os.path.expanduser(os.path.expandvars(a)) for a in args]
    return args, args


def skip_reason(params, chdir):
    """Why `creates`/`removes` say not to run, or None."""
    creates, removes = params['creates'], params['removes']
    if creates and chdir:
        creates = os.path.join(chdir, creates)
    if removes and chdir:
        removes = os.path.join(chdir, removes)
    if creates and glob.glob(creates):
        return "Did not run command since '%s' exists" % params['creates']
    if removes and not glob.glob(removes):
        return "Did not run command since '%s' does not exist" % params['removes']
    return None


def open_log(module):
    """The console log to write, or NoLog when this task is not streamed."""
    log_id = module.params['zuul_log_id']
    console = module.params['portcullis_console'] or {}
    if not log_id or module.check_mode:
        return NoLog()
    problem = ensure_running(
        int(console.get('port', 19885)), console.get('listen', '::'),
        console.get('log_dir', LOG_DIR), console.get('watch_pid'))
    if problem:
        # Without a server no one could read the log; the result still has it.
        module.warn('console streaming is off for this task: %s' % problem)
        return NoLog()
    return ConsoleLog(log_path(console.get('log_dir', LOG_DIR), log_id))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _raw_params=dict(),
            _uses_shell=dict(type='bool', default=False),
            cmd=dict(),
            argv=dict(type='list', elements='str'),
            chdir=dict(type='path'),
            executable=dict(),
            expand_argument_vars=dict(type='bool', default=True),
            creates=dict(type='path'),
            removes=dict(type='path'),
            stdin=dict(required=False),
            stdin_add_newline=dict(type='bool', default=True),
            strip_empty_ends=dict(type='bool', default=True),
            zuul_log_id=dict(),
            portcullis_console=dict(type='dict'),
        ),
        required_one_of=[['_raw_params', 'cmd', 'argv']],
        mutually_exclusive=[['_raw_params', 'cmd', 'argv']],
        supports_check_mode=True,
    )
    params = module.params
    chdir = params['chdir']
    if chdir:
        chdir = os.path.abspath(chdir)
    args, shown = command_args(params)
    result = dict(changed=False, cmd=shown, rc=None, stdout='', stderr='',
                  start=None, end=None, delta=None, msg='')
    if chdir and not os.path.isdir(chdir):
        result['rc'] = 256
        module.fail_json(msg='Unable to change directory before execution.', **result)
    reason = skip_reason(params, chdir)
    if reason:
        result.update(rc=0, msg=reason, stdout=reason)
        module.exit_json(**result)
    if module.check_mode:
        result.update(rc=0, msg='Command would have run if not in check mode')
        if not params['creates'] and not params['removes']:
            result['skipped'] = True
        module.exit_json(**result)

    stdin = params['stdin']
    if stdin is not None:
        stdin = stdin + ('\n' if params['stdin_add_newline'] else '')
        stdin = stdin.encode('utf-8')
    log = open_log(module)
    start = datetime.datetime.now()
    try:
        rc, out, err = run(args, chdir, stdin, log)
    except OSError as e:
        rc, out, err = 2, b'', str(e).encode('utf-8')
        log.line('[Zuul] %s' % e)
    end = datetime.datetime.now()
    log.line('%s%d' % (EXIT_MARKER, rc))
    log.close()

    out = out.decode('utf-8', 'replace')
    err = err.decode('utf-8', 'replace')
    if params['strip_empty_ends']:
        out, err = out.rstrip('\r\n'), err.rstrip('\r\n')
    result.update(changed=True, rc=rc, stdout=out, stderr=err, start=str(start),
                  end=str(end), delta=str(end - start))
    if rc != 0:
        result['msg'] = 'non-zero return code'
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
