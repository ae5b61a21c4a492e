# SPDX-License-Identifier: BSD-2-Clause
# Shared by the spool fault tests (spool_term.test, spool_kill.test): a
# configuration of $NMET counter metrics at 1 s, to carbon through the
# spool and to a file copy of the same lines. Sourced after lib.sh.

NMET=20

# spool_conf FILE COPY: the configuration, the copy written to COPY.
spool_conf()
{
	{
		cat <<EOF
[daemon]
log_level = info
state_dir = $LT_TMP/state
flush_timeout = 2s

[edge]
name = gw

[dcc "carbon"]
type = graphite
host = 127.0.0.1
port = $CPORT
prefix = sp
reconnect_min = 100ms
reconnect_max = 300ms
spool = yes
spool_fsync = 1s

[dcc "copy"]
type = graphite
transport = file
path = $2
prefix = sp

[device "sim"]
type = sim
EOF
		for i in $(seq -w 0 $((NMET - 1))); do
			printf '\n[metric "sim.c%s"]\ninterval = 1s\nfunction = counter\ndcc = carbon, copy\n' "$i"
		done
	} >"$1"
}

# spool_field NAME: a field of the carbon DCC's spool in liotactl status
# --json (0 when it has no spool object, -1 when status does not answer).
spool_field()
{
	lt_status_json "$LT_TMP/run" "$LT_TMP/st.json" || { echo -1; return 1; }
	lt_jq "$LT_TMP/st.json" "[(c['spool'] or {}).get('$1') or 0 for c in d['dccs'] if c['name'] == 'carbon'][0]"
}

spool_has_samples() { [ "$(spool_field samples)" -gt 0 ]; }
spool_is_empty() { [ "$(spool_field samples)" -eq 0 ]; }
