# Portcullis's stdout callback: Ansible's default output, plus the output of
# every `command`/`shell` task streamed from the node while it runs.
#
# When a worker starts such a task on a host, a Follower thread connects to
# that host's console server and prints each line of the task's console log
# as `<time> | <host> | <line>` the moment it arrives; the executor copies
# such stamped lines into job-output.txt and the live log as they are. When
# the host's result comes, the callback waits for the rest of the stream
# before printing the result, and leaves the output out of a result it has
# already streamed in full.

import os
import sys
import threading

from ansible.plugins.callback.default import CallbackModule as DefaultCallback

DOCUMENTATION = r'''
name: portcullis_stream
type: stdout
short_description: Ansible's default output with live command output from the nodes
extends_documentation_fragment:
  - default_callback
  - result_format_callback
'''


# The console helpers are a module_utils file (the node needs them too) in
# the plugin dir beside this plugin's folder.
_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'module_utils')
if _UTILS not in sys.path:
    sys.path.insert(0, _UTILS)
import portcullis_console as console  # noqa: E402

# The task actions whose module is Portcullis's command module.
COMMAND_ACTIONS = frozenset(
    prefix + name
    for prefix in ('', 'ansible.builtin.', 'ansible.legacy.')
    for name in ('command', 'shell'))
# What a fully streamed result need not repeat.
STREAMED_KEYS = ('stdout', 'stdout_lines', 'stderr', 'stderr_lines')


def streams(task):
    """True for a command task the action plugin names a console log for."""
    return task.action in COMMAND_ACTIONS and console.streamed(task)


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'portcullis_stream'

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._play = None
        # (task uuid, host name) -> Follower; the strategy's threads share it.
        self._followers = {}
        self._lock = threading.Lock()
        self._out = threading.Lock()
        self._hide_output = False

    # -- where tasks start and end ---------------------------------------

    def v2_playbook_on_play_start(self, play):
        self._play = play
        super(CallbackModule, self).v2_playbook_on_play_start(play)

    def v2_playbook_on_task_start(self, task, is_conditional):
        # Followers of earlier tasks end with their results, not here: with
        # the `free` strategy other hosts may still run them.
        super(CallbackModule, self).v2_playbook_on_task_start(task, is_conditional)
        self._route(task)

    def v2_playbook_on_handler_task_start(self, task):
        super(CallbackModule, self).v2_playbook_on_handler_task_start(task)
        self._route(task)

    def _route(self, task):
        # `ansible.builtin.command` would bypass the executor's command action
        # (the one that names the console log); `ansible.legacy` is Ansible's
        # name for "the local override if there is one, else the built-in".
        if task.action == 'ansible.builtin.command':
            task.action = 'ansible.legacy.command'

    def v2_runner_on_start(self, host, task):
        super(CallbackModule, self).v2_runner_on_start(host, task)
        if not streams(task):
            return
        hostvars = self._hostvars(host.name)
        if console.disabled(hostvars.get):
            return
        where = console.endpoint(hostvars.get)
        name = host.name

        def emit(when, text):
            line = '%s | %s | %s\n' % (when, name, text)
            # One write per line; Ansible also locks stdout around forks.
            with self._out:
                sys.stdout.write(line)
                sys.stdout.flush()

        follower = console.Follower(
            where.address, where.port, console.log_id(task._uuid, name), emit)
        thread = threading.Thread(target=follower.run, name='stream-%s' % name)
        thread.daemon = True
        with self._lock:
            old = self._followers.pop((task._uuid, name), None)
            self._followers[(task._uuid, name)] = follower
        if old:
            old.cancel()
        thread.start()

    def _hostvars(self, name):
        try:
            return self._play.get_variable_manager()._hostvars[name]
        except (AttributeError, KeyError, TypeError):
            return {}

    def v2_runner_on_ok(self, result):
        self._with_stream(result, super(CallbackModule, self).v2_runner_on_ok)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        parent = super(CallbackModule, self).v2_runner_on_failed
        self._with_stream(result, lambda r: parent(r, ignore_errors=ignore_errors))

    def v2_runner_on_skipped(self, result):
        self._take(result, cancel=True)
        super(CallbackModule, self).v2_runner_on_skipped(result)

    def v2_runner_on_unreachable(self, result):
        self._take(result, cancel=True)
        super(CallbackModule, self).v2_runner_on_unreachable(result)

    def v2_playbook_on_stats(self, stats):
        self._stop_all()
        super(CallbackModule, self).v2_playbook_on_stats(stats)

    # -- followers -------------------------------------------------------

    def _take(self, result, cancel=False):
        key = (_task_of(result)._uuid, _host_of(result).name)
        with self._lock:
            follower = self._followers.pop(key, None)
        if follower and cancel:
            follower.cancel()
        return follower

    def _with_stream(self, result, show):
        """Lets the stream catch up, then shows the result without what
        the stream already showed."""
        follower = self._take(result)
        if follower:
            data = _result_data(result)
            if 'rc' in data or 'start' in data:
                follower.done()
                follower.finished.wait(follower.TAIL_LIMIT + 5)
            else:
                # The command never ran: there is no log to wait for.
                follower.cancel()
            self._hide_output = follower.complete and not _task_of(result).until
        try:
            show(result)
        finally:
            self._hide_output = False

    def _stop_all(self):
        with self._lock:
            followers = list(self._followers.values())
            self._followers.clear()
        for follower in followers:
            follower.cancel()
        for follower in followers:
            follower.finished.wait(2)

    def _dump_results(self, result, *args, **kwargs):
        if self._hide_output:
            result = dict((k, v) for k, v in result.items() if k not in STREAMED_KEYS)
        return super(CallbackModule, self)._dump_results(result, *args, **kwargs)


# ansible-core 2.19 names a result's parts without the underscore; older
# versions only with it.

def _result_data(result):
    data = getattr(result, 'result', None)
    return data if data is not None else result._result


def _task_of(result):
    return getattr(result, 'task', None) or result._task


def _host_of(result):
    return getattr(result, 'host', None) or result._host
