#!/bin/sh
# in-rootfs.sh ROOTFS PROGRAM [ARG...]: runs PROGRAM (a path inside ROOTFS) chrooted into ROOTFS,
# in a mount namespace of its own where the host's directories outside the operating system
# (/tmp, /home, /root, /work, /proc, /dev, /sys, /run, ...) and /etc/hosts, /etc/resolv.conf are
# bind-mounted at the same paths: file and socket paths, the working directory and the network
# mean the same inside and out, while /usr, /etc and /var are ROOTFS's. The process keeps its PID
# (every step execs), so signals and exit statuses reach the caller unchanged. Needs root.
# Written for scripts/mariadb-rootfs.sh's launchers.
set -eu
rootfs=$1
shift
if [ "$(id -u)" -ne 0 ]; then
  echo "in-rootfs.sh: running $1 from $rootfs needs root (chroot in a mount namespace)" >&2
  exit 126
fi
# --propagation private: nothing mounted here reaches the host, and it all goes with the process.
# shellcheck disable=SC2016 # the inner script expands its own arguments
exec unshare --mount --propagation private -- sh -eu -c '
  rootfs=$1; shift
  for dir in /*/; do
    dir=${dir%/}
    case $dir in /bin|/boot|/etc|/lib|/lib32|/lib64|/libx32|/sbin|/usr|/var|/lost+found) continue ;; esac
    [ -d "$rootfs$dir" ] || mkdir -p "$rootfs$dir"
    mount --rbind "$dir" "$rootfs$dir"
  done
  mount --bind /etc/hosts "$rootfs/etc/hosts"
  mount --bind /etc/resolv.conf "$rootfs/etc/resolv.conf"
  exec chroot "$rootfs" /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    sh -c "cd \"\$1\" && shift && exec \"\$@\"" sh "$(pwd)" "$@"
' in-rootfs "$rootfs" "$@"
