#!/usr/bin/python
# Starts the Portcullis console server on a node ahead of time. Jobs need not
# call it (the command module starts the server on first use); it exists so
# base jobs written for Zuul (the start-zuul-console role) run unchanged.

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.portcullis_console import DEFAULT_PORT, LOG_DIR, ensure_running

DOCUMENTATION = r'''
module: zuul_console
short_description: Starts the console server that streams task output
options:
  port:
    description: The port to listen on.
    type: int
    default: 19885
  path:
    description: Ignored; Portcullis keeps console logs in /tmp.
    type: str
  state:
    description: Only C(present) is supported.
    type: str
    default: present
'''


def main():
    module = AnsibleModule(
        argument_spec=dict(
            port=dict(type='int', default=DEFAULT_PORT),
            path=dict(type='str'),
            state=dict(type='str', default='present', choices=['present']),
        ),
        supports_check_mode=True,
    )
    if module.check_mode:
        module.exit_json(changed=False)
    problem = ensure_running(module.params['port'], '::', LOG_DIR)
    if problem:
        module.fail_json(msg='the console server did not start: %s' % problem)
    module.exit_json(changed=False, port=module.params['port'])


if __name__ == '__main__':
    main()
