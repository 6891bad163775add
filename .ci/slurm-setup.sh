#!/usr/bin/env bash
# Install what tests/test_slurm.py needs for a throwaway single-node SLURM (Debian/Ubuntu, root).
# Idempotent: does nothing when the packages are already installed. The daemons are NOT started
# here; tests/slurm/local_slurm.sh start|stop (called by the pytest fixture) does that.
#   .ci/slurm-setup.sh && python -m pytest -m slurm
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
    echo "slurm-setup: ${PACKAGES[*]} already installed"
    exit 0
fi
if [[ $(id -u) != 0 ]]; then
    echo "slurm-setup: need root to install ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: slurm-wlm's recommends pull dozens of plugin packages we do not use.
# The postinst scripts create the munge key and the munge/slurm users; with no systemd (CI
# containers) they cannot start the services, which is fine.
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "slurm-setup: installed ${missing[*]} ($(slurmctld -V))"
