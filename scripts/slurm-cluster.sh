#!/usr/bin/env bash
# A single-node SLURM cluster with job accounting, for the test suite (and for trying `--executor slurm` by hand).
#
#   bash scripts/slurm-cluster.sh up STATE_DIR     start munged, mariadbd, slurmdbd, slurmctld and slurmd
#   bash scripts/slurm-cluster.sh down STATE_DIR   cancel the cluster's jobs, stop the daemons by PID
#
# Everything lives in STATE_DIR (a new or empty folder, e.g. from mktemp -d): configuration, munge key and socket,
# the MariaDB data, SLURM state, spool, PID files and logs (STATE_DIR/log). No systemd, nothing written to /etc, and
# nothing added to PATH: clients find the cluster only through SLURM_CONF=STATE_DIR/etc/slurm.conf, which `up` prints
# on its last line. Daemons listen on free ports of 127.0.0.1 chosen at start, so several clusters can coexist.
# As root the Debian packages (slurm-wlm, slurmdbd, munge, mariadb-server) are installed when missing, without
# starting their system services; otherwise their absence is reported and the script exits 1.
set -euo pipefail
PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)
CLUSTER=garden

die() { echo "slurm-cluster: $*" >&2; exit 1; }

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages (run as root, or: sudo apt-get install ${missing[*]})"
  command -v apt-get >/dev/null || die "missing Debian packages ${missing[*]} and no apt-get to install them"
  echo "slurm-cluster: installing Debian packages: ${missing[*]}" >&2
  # a policy-rc.d that refuses keeps apt from starting the packages' system services (we start our own daemons)
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; own_policy=1; fi
  export DEBIAN_FRONTEND=noninteractive
  local status=0
  local wait=(-o DPkg::Lock::Timeout=300)  # another apt (a parallel test worker) may hold the lock
  { apt-get "${wait[@]}" update -qq && apt-get "${wait[@]}" install -y -qq --no-install-recommends "${missing[@]}" \
      >/dev/null; } || status=$?
  [ "$own_policy" -eq 1 ] && rm -f "$policy"
  [ "$status" -eq 0 ] || die "apt-get could not install ${missing[*]} (exit $status; no network?)"
}

free_port() {  # a TCP port of 127.0.0.1 free right now
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {  # start NAME COMMAND...: run a daemon in the foreground of its own session, record its PID
  local name=$1; shift
  setsid "$@" > "$STATE/log/$name.out" 2>&1 < /dev/null &
  echo "$!" > "$STATE/run/$name.pid"
}

wait_for() {  # wait_for WHAT SECONDS COMMAND...: retry COMMAND every 0.1 s
  local what=$1 seconds=$2; shift 2
  local end=$((SECONDS + seconds))
  until timeout 5 "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || die "$what did not start in ${seconds} s; see $STATE/log/"
    sleep 0.1
  done
}

write_configs() {
  local node cpus memory
  node=$(hostname -s)
  read -r cpus memory < <(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*RealMemory=\([0-9]*\).*/\1 \2/p')
  cat > "$STATE/etc/slurm.conf" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/run/munge.socket
CredType=cred/munge
StateSaveLocation=$STATE/slurm/state
SlurmdSpoolDir=$STATE/slurm/spool
SlurmctldPidFile=$STATE/run/slurmctld.pidfile
SlurmdPidFile=$STATE/run/slurmd.pidfile
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
PlugStackConfig=$STATE/etc/plugstack.conf
Epilog=$STATE/etc/epilog.sh
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$STATE/run/munge.socket
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
KillWait=2
MessageTimeout=5
SlurmctldTimeout=10
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  : > "$STATE/etc/plugstack.conf"
  # an epilog of 1 s, as real clusters run one (scratch clean-up, health checks): an ended job stays listed (CG)
  printf '#!/bin/sh\nsleep 1\n' > "$STATE/etc/epilog.sh"
  chmod 755 "$STATE/etc/epilog.sh"
  cat > "$STATE/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$STATE/run/munge.socket
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pidfile
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=garden
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$STATE/etc/slurmdbd.conf"
}

up() {
  install_packages
  [ "$(id -u)" -eq 0 ] || die "the daemons run as root in this set-up; run as root"
  mkdir -p "$STATE"
  [ -z "$(ls -A "$STATE")" ] || die "$STATE is not empty; give a new folder (mktemp -d)"
  chmod 700 "$STATE"
  mkdir -p "$STATE"/{etc,run,log,munge,mysql,slurm/state,slurm/spool}
  DB_PORT=$(free_port) DBD_PORT=$(free_port) CTLD_PORT=$(free_port) SLURMD_PORT=$(free_port)
  write_configs
  export SLURM_CONF=$STATE/etc/slurm.conf

  dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$STATE/munge/munge.key"
  start munged munged --foreground --force --key-file="$STATE/munge/munge.key" --socket="$STATE/run/munge.socket" \
    --pid-file="$STATE/run/munged.pidfile" --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/seed"
  wait_for munged 10 test -S "$STATE/run/munge.socket"

  mariadb-install-db --no-defaults --datadir="$STATE/mysql" --user=root --auth-root-authentication-method=normal \
    --skip-test-db > "$STATE/log/mariadb-install.out" 2>&1 || die "mariadb-install-db failed; see $STATE/log/"
  start mariadbd mariadbd --no-defaults --datadir="$STATE/mysql" --socket="$STATE/run/mysqld.sock" \
    --pid-file="$STATE/run/mariadbd.pidfile" --port="$DB_PORT" --bind-address=127.0.0.1 --user=root \
    --log-error="$STATE/log/mariadbd.log" --innodb-buffer-pool-size=16M --skip-log-bin
  wait_for mariadbd 30 mariadb-admin --no-defaults --socket="$STATE/run/mysqld.sock" ping
  mariadb --no-defaults --socket="$STATE/run/mysqld.sock" -u root <<'EOF'
CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'garden';
CREATE USER 'slurm'@'localhost' IDENTIFIED BY 'garden';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF

  start slurmdbd slurmdbd -D
  wait_for slurmdbd 30 sacctmgr -i list cluster
  sacctmgr -i add cluster "$CLUSTER" > /dev/null
  start slurmctld slurmctld -D -i
  wait_for slurmctld 30 scontrol ping
  start slurmd slurmd -D
  wait_for "the node" 30 bash -c '[ "$(sinfo -h -o %t)" = idle ]'
  echo "SLURM_CONF=$SLURM_CONF"
}

down() {
  [ -d "$STATE/run" ] || die "$STATE holds no cluster"
  export SLURM_CONF=$STATE/etc/slurm.conf
  timeout 5 scancel --quiet --user="$(id -un)" 2>/dev/null || true
  stop slurmd slurmctld slurmdbd mariadbd munged  # together: each takes 1.5-3 s to exit, one after another 10 s
}

stop() {  # stop NAME...: SIGTERM to these daemons at once, SIGKILL to any still running 10 s later
  local name pids=()
  for name in "$@"; do
    [ -f "$STATE/run/$name.pid" ] || continue
    pids+=("$(cat "$STATE/run/$name.pid")")
    rm -f "$STATE/run/$name.pid"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

[ $# -eq 2 ] || die "usage: $0 up|down STATE_DIR"
STATE=$(realpath -m "$2")
case $1 in
  up) up ;;
  down) down ;;
  *) die "usage: $0 up|down STATE_DIR" ;;
esac
