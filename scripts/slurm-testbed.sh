#!/usr/bin/env bash
# slurm-testbed.sh - a real single-machine Slurm 22.05 (Debian 12) for ccx's centre contract tests.
#
#   scripts/slurm-testbed.sh up       install missing packages, write configs, start the daemons
#   scripts/slurm-testbed.sh status   which daemons run
#   scripts/slurm-testbed.sh env      print the exports a shell needs (eval "$(... env)")
#   scripts/slurm-testbed.sh down     stop the daemons this script started (by recorded pid)
#
# Needs root. Everything (configs, munge key, a MariaDB instance of its own, state, logs, sockets,
# pid files) lives under $CCX_SLURM_BASE; nothing in /etc, /run or /var is written, and a MariaDB
# server already running on this machine is never touched (ours has its own datadir, socket and
# port). One node carries fake GPUs of three types as GRES (character device nodes made with
# mknod: gres/gpu drops GPUs without File=). Billing weights are exchange rates in milli-credits
# per device-hour (h100 = 1 credit, a100 = 0.25, b200 = 2.25; docs/center.md). Limits are
# enforced with `safe`: a job starts only if its devices x time limit fit in what is left.
# Recipe and pitfalls: ../shared/slurm-local-recipe.md. `up` is idempotent: running daemons are
# left alone, missing ones are started.
set -euo pipefail

BASE=${CCX_SLURM_BASE:-/tmp/ccx-slurm}
PORT_BASE=${CCX_SLURM_PORT_BASE:-16820}
CLUSTER=${CCX_SLURM_CLUSTER:-ccxtest}
NODE=node01
PARTITION=gpu
DB_PASS=ccx-slurmdb
REST_USER=slurm # slurmrestd refuses to run as root
MYSQL_PORT=$PORT_BASE
DBD_PORT=$((PORT_BASE + 1))
CTLD_PORT=$((PORT_BASE + 2))
SLURMD_PORT=$((PORT_BASE + 3))
REST_PORT=$((PORT_BASE + 4))
# type:count:weight (weight = billing per device = milli-credits per device-hour)
GPU_TYPES=(h100:4:1000 a100:4:250 b200:2:2250)
PACKAGES=(slurm-wlm slurmdbd slurmrestd slurm-wlm-jwt-plugin munge mariadb-server mariadb-client)
BINARIES=(slurmctld slurmd slurmdbd slurmrestd sacctmgr munged mungekey mariadbd mariadb-install-db)
export SLURM_CONF=$BASE/etc/slurm.conf

log() { echo "[slurm-testbed $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local limit_s=$1 what=$2
  shift 2
  local end=$((SECONDS + limit_s))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || die "timed out waiting for $what (logs: $BASE/log)"
    sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive() { [[ -f $BASE/run/$1.pid ]] && kill -0 "$(cat "$BASE/run/$1.pid")" 2>/dev/null; }

# start NAME CMD... : run a daemon in foreground mode in its own session and record its pid.
start() {
  local name=$1
  shift
  if alive "$name"; then
    log "$name already runs (pid $(cat "$BASE/run/$name.pid"))"
    return 0
  fi
  setsid "$@" >"$BASE/log/$name.out" 2>&1 </dev/null &
  echo $! >"$BASE/run/$name.pid"
  log "started $name (pid $!)"
}

install_packages() {
  local missing=() b
  for b in "${BINARIES[@]}"; do command -v "$b" >/dev/null 2>&1 || missing+=("$b"); done
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "needs root to install ${PACKAGES[*]}"
  log "installing ${PACKAGES[*]} (missing: ${missing[*]})"
  # The packages' own services (system MariaDB, munge, slurm) must not start: this script runs
  # its own. A policy-rc.d that refuses every start does that during the install.
  local policy=/usr/sbin/policy-rc.d ours=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
  fi
  apt-get update -q >"$BASE/log/apt.log" 2>&1
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" \
    >>"$BASE/log/apt.log" 2>&1 || rc=$?
  ((ours)) && rm -f "$policy"
  ((rc == 0)) || die "apt-get install failed (see $BASE/log/apt.log)"
}

gres_entries() { # node Gres= value and gres.conf lines, from GPU_TYPES
  local spec type count weight first=0 gres="" conf="" weights="CPU=0,Mem=0"
  for spec in "${GPU_TYPES[@]}"; do
    IFS=: read -r type count weight <<<"$spec"
    gres+="${gres:+,}gpu:$type:$count"
    conf+="NodeName=$NODE Name=gpu Type=$type File=$BASE/dev/gpu[$first-$((first + count - 1))]"$'\n'
    weights+=",GRES/gpu:$type=$weight"
    first=$((first + count))
  done
  GRES=$gres GRES_CONF=$conf BILLING_WEIGHTS=$weights DEVICE_COUNT=$first
}

tres_list() {
  local spec list=gres/gpu
  for spec in "${GPU_TYPES[@]}"; do list+=",gres/gpu:${spec%%:*}"; done
  echo "$list"
}

write_configs() {
  mkdir -p "$BASE"/{etc,run,log,state,spool/$NODE,munge,dev}
  chmod 755 "$BASE" "$BASE/munge" # munged wants o+x on its socket dir
  install -d -o mysql -g mysql -m 755 "$BASE/mysql"
  gres_entries
  local i
  for ((i = 0; i < DEVICE_COUNT; i++)); do
    [[ -e $BASE/dev/gpu$i ]] || mknod "$BASE/dev/gpu$i" c 1 3
  done

  cat >"$BASE/etc/my.cnf" <<EOF
[mysqld]
datadir=$BASE/mysql/data
socket=$BASE/mysql/mysqld.sock
pid-file=$BASE/mysql/mysqld.pid
log-error=$BASE/mysql/mysqld.log
port=$MYSQL_PORT
bind-address=127.0.0.1
user=mysql
skip-name-resolve
innodb_buffer_pool_size=128M
innodb_log_file_size=64M
innodb_lock_wait_timeout=900
[client]
socket=$BASE/mysql/mysqld.sock
port=$MYSQL_PORT
EOF

  cat >"$BASE/etc/slurm.conf" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$BASE/munge/munge.sock
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$BASE/etc/jwt_hs256.key
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool/%n
SlurmctldPidFile=$BASE/run/slurmctld.daemon.pid
SlurmdPidFile=$BASE/run/slurmd-%n.daemon.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ReturnToService=2
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$BASE/munge/munge.sock
AccountingStorageTRES=$(tres_list)
AccountingStorageEnforce=associations,limits,qos,safe
JobCompType=jobcomp/none
# GrpTRESMins needs priority/multifactor (its thread accumulates usage); no decay and no reset,
# so a spent budget never refills by itself.
PriorityType=priority/multifactor
PriorityDecayHalfLife=0
PriorityUsageResetPeriod=NONE
PriorityCalcPeriod=1
PriorityWeightFairshare=1000
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=localhost Port=$SLURMD_PORT CPUs=32 Boards=1 SocketsPerBoard=2 CoresPerSocket=16 ThreadsPerCore=1 RealMemory=64000 Gres=$GRES State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP TRESBillingWeights="$BILLING_WEIGHTS"
EOF

  printf 'AutoDetect=off\n%s' "$GRES_CONF" >"$BASE/etc/gres.conf"

  cat >"$BASE/etc/cgroup.conf" <<EOF
# Not used (proctrack/linuxproc, task/none); present so nothing looks for it.
CgroupPlugin=autodetect
ConstrainCores=no
ConstrainDevices=no
ConstrainRAMSpace=no
EOF

  cat >"$BASE/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$BASE/munge/munge.sock
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$BASE/etc/jwt_hs256.key
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
DebugLevel=info
LogFile=$BASE/log/slurmdbd.log
PidFile=$BASE/run/slurmdbd.daemon.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$BASE/etc/slurmdbd.conf" # slurmdbd refuses a world-readable file

  [[ -s $BASE/munge/munge.key ]] || mungekey -c -k "$BASE/munge/munge.key"
  chmod 600 "$BASE/munge/munge.key"
  [[ -s $BASE/etc/jwt_hs256.key ]] ||
    dd if=/dev/urandom of="$BASE/etc/jwt_hs256.key" bs=32 count=1 status=none
  chmod 600 "$BASE/etc/jwt_hs256.key"
}

start_munge() {
  start munged munged -F --key-file="$BASE/munge/munge.key" --socket="$BASE/munge/munge.sock" \
    --pid-file="$BASE/munge/munged.pid" --log-file="$BASE/munge/munged.log" \
    --seed-file="$BASE/munge/munged.seed"
  wait_for 20 munged munge -S "$BASE/munge/munge.sock" -n
}

start_mariadb() {
  if [[ ! -d $BASE/mysql/data/mysql ]]; then
    mariadb-install-db --defaults-file="$BASE/etc/my.cnf" --auth-root-authentication-method=socket \
      --skip-test-db >"$BASE/log/mariadb-install-db.log" 2>&1
  fi
  start mariadbd mariadbd --defaults-file="$BASE/etc/my.cnf"
  wait_for 60 mariadbd mariadb-admin --defaults-file="$BASE/etc/my.cnf" ping
  mariadb --defaults-file="$BASE/etc/my.cnf" -u root <<EOF
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
EOF
}

start_slurm() {
  start slurmdbd slurmdbd -D
  wait_for 60 slurmdbd port_open "$DBD_PORT"
  if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null # 22.05 does not add it itself
  fi
  start slurmctld slurmctld -D
  wait_for 60 slurmctld bash -c 'scontrol ping | grep -q UP'
  start slurmd slurmd -D -N "$NODE"
  wait_for 60 "node $NODE registered" bash -c "sinfo -h -n $NODE -o %T | grep -qvi -e unk -e down"
  if sinfo -h -n "$NODE" -o %T | grep -qi drain; then
    scontrol update nodename="$NODE" state=resume # a drain left in saved state by an earlier run
  fi
  wait_for 60 "node $NODE idle" bash -c "sinfo -h -n $NODE -o %T | grep -qx -e idle -e mixed -e allocated"
  SLURM_JWT=daemon start slurmrestd slurmrestd -a rest_auth/jwt -u "$REST_USER" "127.0.0.1:$REST_PORT"
  wait_for 30 slurmrestd port_open "$REST_PORT"
}

up() {
  [[ $(id -u) == 0 ]] || die "run as root"
  local t0=$SECONDS
  mkdir -p "$BASE/log"
  install_packages
  write_configs
  start_munge
  start_mariadb
  start_slurm
  log "cluster $CLUSTER up in $((SECONDS - t0))s; GPUs: ${GPU_TYPES[*]} (type:count:weight)"
  cat >&2 <<EOF

Use it:
  eval "\$($0 env)"                  # SLURM_CONF, CCX_TEST_SLURM=1
  sinfo; sacctmgr show assoc
  sbatch -A ACCOUNT --gres=gpu:h100:1 -t 1 --wrap 'sleep 2'
  .venv/bin/pytest tests/contract    # the centre contract suite, simulated and Slurm
  $0 down                            # stop it ($BASE stays; delete it for a clean slate)
EOF
}

down() {
  local n p
  for n in slurmrestd slurmd slurmctld slurmdbd mariadbd munged; do
    if alive "$n"; then
      p=$(cat "$BASE/run/$n.pid")
      kill "$p"
      for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$p" 2>/dev/null; then kill -9 "$p"; log "killed -9 $n ($p)"; else log "stopped $n ($p)"; fi
    fi
    rm -f "$BASE/run/$n.pid"
  done
}

status() {
  local n all=0
  for n in munged mariadbd slurmdbd slurmctld slurmd slurmrestd; do
    if alive "$n"; then echo "$n up (pid $(cat "$BASE/run/$n.pid"))"; else echo "$n down"; all=1; fi
  done
  return $all
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  env) echo "export SLURM_CONF=$SLURM_CONF CCX_TEST_SLURM=1" ;;
  *)
    echo "usage: $0 up|down|status|env   (state under CCX_SLURM_BASE=$BASE)" >&2
    exit 2
    ;;
esac
