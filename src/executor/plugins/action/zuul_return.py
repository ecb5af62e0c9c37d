# Portcullis's `zuul_return` (Zuul's module of that name): merges the task's
# `data` into the build's results file, {zuul.executor.work_root}/results.json,
# which the executor reads when the playbooks are done. An action plugin runs
# on the executor whatever host the task is for, so the file is always the
# executor's. Several calls (or hosts) merge their data, dicts key by key.

import fcntl
import json
import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase


def merge(into, new):
    """Merges dict `new` into dict `into`: nested dicts key by key, other values replaced."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def results_path(task_vars):
    executor = (task_vars.get('zuul') or {}).get('executor') or {}
    work_root = executor.get('work_root')
    if not work_root:
        raise AnsibleError('zuul_return: zuul.executor.work_root is not set')
    return os.path.join(str(work_root), 'results.json')


def store(path, data):
    # The lock file keeps hosts' workers from interleaving their merges.
    with open(path + '.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = {}
        if os.path.exists(path):
            with open(path) as f:
                results = json.load(f)
        merge(results.setdefault('data', {}), data)
        with open(path + '.tmp', 'w') as f:
            json.dump(results, f, default=str)
        os.rename(path + '.tmp', path)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        data = self._task.args.get('data') or {}
        if not isinstance(data, dict):
            raise AnsibleError('zuul_return: data must be a dict')
        store(results_path(task_vars or {}), data)
        result['changed'] = False
        return result
