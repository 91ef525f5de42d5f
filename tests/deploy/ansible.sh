#!/usr/bin/env bash
# deploy/ansible: every playbook passes `ansible-playbook --syntax-check` (the boot test
# runs site.yml for real in a booted container; maintenance.yml reboots hosts, so only
# its form is checked here), and both roll out one server at a time.
#   tests/deploy/ansible.sh SOURCE_DIR
set -u
SRC=${1:?usage: $0 SOURCE_DIR}
source "$(dirname "$0")/../netns/lib.sh" unused
command -v ansible-playbook >/dev/null || skip_or_fail "ansible-playbook is not installed (.ci/install-deps.sh installs ansible-core)"
export ANSIBLE_ROLES_PATH=$SRC/deploy/ansible/roles ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$(mktemp -d) ANSIBLE_RETRY_FILES_ENABLED=False
trap 'rm -rf "$ANSIBLE_LOCAL_TEMP"' EXIT
for p in site.yml maintenance.yml; do
  expect_rc 0 "ansible-playbook --syntax-check $p" ansible-playbook --syntax-check -i "localhost," "$SRC/deploy/ansible/$p"
done
contains "$(cat "$SRC/deploy/ansible/site.yml")" "serial: \"{{ lvs_rs_agent_serial | default(1) }}\"" "site.yml: one server at a time by default"
contains "$(cat "$SRC/deploy/ansible/maintenance.yml")" "serial: 1" "maintenance.yml: one server at a time"
contains "$(cat "$SRC/deploy/ansible/roles/lvs_rs_agent/tasks/main.yml")" "lvs-rs-agent drain --wait" "the role drains before a stop"
finish
