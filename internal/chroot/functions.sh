#!/bin/bash
# The library a description's scripts find at /.kconfig while they run
# (config.sh, images.sh, disk.sh, pre_disk_sync.sh, post_bootstrap.sh):
# KIWI's functions.sh, by name, arguments and effect, written for this
# kiwi. Where KIWI 10 turned a function of KIWI 9 into an error that ends
# the script (baseStripDocs, Rpm, baseGetProfilesUsed, ...), the function
# does what KIWI 9 did, so a description written for either runs; only
# the ones that had no effect left stay notices (baseMount, suseConfig).
# docs/scripts.md lists every function with the test that checks it.
#
# It is sourced by scripts that may run with set -e or set -u: every
# function quotes its variables, declares its locals and returns 0 unless
# it failed.

export LANG=C
export LC_ALL=C

#--------------------------------------------------------------------
# Output
#--------------------------------------------------------------------

# Echo [-b] [-n] [-e] MESSAGE: a message with KIWI's "----->" prefix
# (-b: blank prefix, for continuation lines).
function Echo {
    local opt prefix="----->" flags=()
    local OPTIND=1
    while getopts "bne" opt; do
        case "${opt}" in
            b) prefix="      " ;;
            n) flags+=(-n) ;;
            e) flags+=(-e) ;;
            *) echo "Echo: unknown option ${opt}" >&2 ;;
        esac
    done
    shift $((OPTIND - 1))
    echo "${flags[@]}" "${prefix} $1"
}

# Debug MESSAGE: printed, with the calling functions, when DEBUG=1.
function Debug {
    if [ "${DEBUG:-0}" = 1 ]; then
        echo "+++++> (caller:${FUNCNAME[1]:-}:${FUNCNAME[2]:-} )  $*"
    fi
}

# Rm ARGS: rm, announced by Debug.
function Rm {
    Debug "rm $*"
    rm "$@"
}

# Rpm ARGS: rpm, announced by Debug (KIWI 9's; KIWI 10 made it an error).
function Rpm {
    Debug "rpm $*"
    rpm "$@"
}

# deprecated NAME: a notice for a function that has no effect any more.
function deprecated {
    echo "DEPRECATED: $1 has no effect: $2" >&2
}

#--------------------------------------------------------------------
# Services and targets (systemd; SysV scripts through systemctl)
#--------------------------------------------------------------------

# baseSystemdServiceInstalled NAME: prints the unit file of service or
# mount unit NAME, when one is installed.
function baseSystemdServiceInstalled {
    local name=$1 dir kind
    for dir in /usr/lib/systemd/system /lib/systemd/system /etc/systemd/system /run/systemd/system; do
        for kind in service mount; do
            if [ -f "${dir}/${name}.${kind}" ]; then
                echo "${dir}/${name}.${kind}"
                return 0
            fi
        done
    done
}

# baseSysVServiceInstalled NAME: prints NAME when /etc/init.d/NAME is an
# executable init script.
function baseSysVServiceInstalled {
    if [ -x "/etc/init.d/$1" ]; then
        echo "$1"
    fi
}

# baseSystemdCall NAME ARGS: systemctl ARGS NAME, for an installed unit or
# SysV script; nothing for a service that is not installed.
function baseSystemdCall {
    local name=$1
    shift
    if [ -n "$(baseSystemdServiceInstalled "${name}")" ] || [ -n "$(baseSysVServiceInstalled "${name}")" ]; then
        systemctl "$@" "${name}"
    fi
}

# baseInsertService NAME: enables the service.
function baseInsertService {
    baseSystemdCall "$1" enable
}

# baseRemoveService NAME: disables the service.
function baseRemoveService {
    baseSystemdCall "$1" disable
}

# baseService NAME on|off: enables (on, or anything but off) or disables.
function baseService {
    local name=$1 state=${2:-}
    if [ -z "${state}" ]; then
        echo "baseService: no target specified"
        return 0
    fi
    if [ -z "${name}" ]; then
        echo "baseService: no service name specified"
        return 0
    fi
    if [ "${state}" = off ]; then
        baseRemoveService "${name}"
    else
        baseInsertService "${name}"
    fi
}

function suseInsertService { baseInsertService "$@"; }
function suseRemoveService { baseRemoveService "$@"; }
function suseService { baseService "$@"; }

# suseActivateDefaultServices: enables network and cron, where installed
# (KIWI 9's list).
function suseActivateDefaultServices {
    local name
    for name in network cron; do
        echo "Activating service: ${name}"
        baseInsertService "${name}"
    done
}

# baseSetRunlevel 1|2|3|5|TARGET: the systemd default target: 1-3
# multi-user, 5 graphical, else the named target when it exists.
function baseSetRunlevel {
    local want=$1 units=/usr/lib/systemd/system
    local link=/etc/systemd/system/default.target
    mkdir -p /etc/systemd/system
    case "${want}" in
        1 | 2 | 3) ln -sfn "${units}/multi-user.target" "${link}" ;;
        5) ln -sfn "${units}/graphical.target" "${link}" ;;
        *)
            if [ -e "${units}/${want}" ]; then
                ln -sfn "${units}/${want}" "${link}"
            else
                echo "Can't find systemd target: ${want}"
            fi
            ;;
    esac
}

#--------------------------------------------------------------------
# Configuration and setup
#--------------------------------------------------------------------

# baseUpdateSysConfig FILE VAR VALUE: sets VAR="VALUE" where FILE
# assigns VAR.
function baseUpdateSysConfig {
    local file=$1 var=$2 value=$3
    if [ ! -f "${file}" ]; then
        echo "warning: config file ${file} not found"
        return 0
    fi
    local escaped=${value//\\/\\\\}
    escaped=${escaped//&/\\&}
    escaped=${escaped//@/\\@}
    sed -i "s@^\(${var}=\).*\$@\1\"${escaped}\"@" "${file}"
}

# baseQuoteFile FILE: rewrites a KEY=VALUE file so that the shell reads
# every value literally: comments and empty lines dropped, the value's
# own quotes and backslashes removed, single quotes escaped, each value
# in '...'.
function baseQuoteFile {
    local file=$1
    local out=${file}.quoted
    grep -v -e '^$' -e '^[[:space:]]*#' "${file}" |
        sed -E -e "s#(^[a-zA-Z0-9_]+)=[\"'](.*)[\"']#\\1=\\2#" \
            -e 's#\\(.)#\1#g' \
            -e "s#'+#'\\\\''#g" \
            -e "s#(^[a-zA-Z0-9_]+)=(.*)#\\1='\\2'#" >"${out}" || true
    mv "${out}" "${file}"
}

# baseSetupBuildDay: /build_day holds build_day=YYYYMMDD (UTC), the day
# of SOURCE_DATE_EPOCH when it is set, so a reproducible build stays so.
function baseSetupBuildDay {
    local day
    if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
        day=$(date -u -d "@${SOURCE_DATE_EPOCH}" '+%Y%m%d')
    else
        day=$(date -u '+%Y%m%d')
    fi
    echo "build_day=${day}" >/build_day
}

# baseSetupUserPermissions: every login user (uid >= 1000) owns their
# home directory again, recursively.
function baseSetupUserPermissions {
    local name uid gid home shell group
    while IFS=: read -r name _ uid gid _ home shell; do
        [ -d "${home}" ] || continue
        [ "${uid}" -ge 1000 ] 2>/dev/null || continue
        case "${shell}" in *nologin | *true | *false) continue ;; esac
        group=$(getent group "${gid}" | cut -d: -f1)
        chown -c -R "${name}:${group:-${gid}}" "${home}"
    done </etc/passwd
}

# baseVagrantSetup: what a Vagrant box needs: the vagrant user's
# insecure public key, password-less sudo, sshd settings, /vagrant and
# sshd enabled. The vagrant user must exist (<users> in the description).
function baseVagrantSetup {
    local key="ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key"
    mkdir -p /home/vagrant/.ssh
    chmod 0700 /home/vagrant/.ssh
    echo "${key}" >/home/vagrant/.ssh/authorized_keys
    chmod 0600 /home/vagrant/.ssh/authorized_keys
    chown -R vagrant:vagrant /home/vagrant
    local settings="UseDNS no
GSSAPIAuthentication no"
    if [ -d /etc/ssh/sshd_config.d ]; then
        echo "${settings}" >/etc/ssh/sshd_config.d/00-vagrant.conf
    else
        mkdir -p /etc/ssh
        # First in the file: sshd takes the first value it reads.
        { echo "${settings}"; cat /etc/ssh/sshd_config 2>/dev/null || true; } >/etc/ssh/sshd_config.new
        mv /etc/ssh/sshd_config.new /etc/ssh/sshd_config
    fi
    local rule="vagrant ALL=(ALL) NOPASSWD: ALL"
    if [ -d /etc/sudoers.d ]; then
        echo "${rule}" >/etc/sudoers.d/vagrant
        chmod 0440 /etc/sudoers.d/vagrant
        if command -v visudo >/dev/null; then visudo -cf /etc/sudoers.d/vagrant; fi
    else
        echo "${rule}" >>/etc/sudoers
        if command -v visudo >/dev/null; then visudo -cf /etc/sudoers; fi
    fi
    mkdir -p /vagrant
    chown -R vagrant:vagrant /vagrant
    # Debian names the unit ssh, the others sshd.
    baseInsertService sshd
    baseInsertService ssh
}

# setupContainerRuntime: podman in the image uses vfs storage, cgroupfs
# and no pivot_root, which work inside a build root and a container.
function setupContainerRuntime {
    mkdir -p /etc/containers
    printf '%s\n' '[engine]' 'no_pivot_root = true' 'events_logger = "none"' 'cgroup_manager = "cgroupfs"' \
        >/etc/containers/containers.conf
    printf '%s\n' '[storage]' 'driver = "vfs"' 'graphroot = "/var/lib/containers/storage"' \
        'runroot = "/var/run/containers/storage"' >/etc/containers/storage.conf
}

# mountProc: /proc, when it is not mounted (kiwi mounts it for every
# script, in a namespace of the script's own).
function mountProc {
    if ! mountpoint -q /proc; then
        mount -t proc proc /proc
    fi
}

# mountCgroups / umountCgroups: a cgroup v1 tree with the devices, blkio,
# cpuset and pids controllers under /sys/fs/cgroup, for tools that look
# there during the build (it vanishes with the script's namespace).
function mountCgroups {
    local group
    mount -t tmpfs cgroup_root /sys/fs/cgroup
    for group in devices blkio cpuset pids; do
        mkdir -p "/sys/fs/cgroup/${group}"
        mount -t cgroup -o "${group}" "${group}" "/sys/fs/cgroup/${group}"
    done
}

function umountCgroups {
    local group
    for group in devices blkio cpuset pids; do
        umount "/sys/fs/cgroup/${group}"
    done
    umount /sys/fs/cgroup
}

#--------------------------------------------------------------------
# SUSE products and keys
#--------------------------------------------------------------------

# suseSetupProduct: /etc/products.d/baseproduct points to the product
# named by /etc/SuSE-brand or os-release's NAME, else to the last .prod.
function suseSetupProduct {
    local name="" prod=""
    if [ -f /etc/SuSE-brand ]; then
        name=$(head -n 1 /etc/SuSE-brand)
    elif [ -f /etc/os-release ]; then
        name=$(sed -n 's/^NAME=//p' /etc/os-release | tr -d "\"'" | head -n 1)
    fi
    [ -d /etc/products.d ] || return 0
    if [ -n "${name}" ] && [ -f "/etc/products.d/${name}.prod" ]; then
        prod="${name}.prod"
    elif [ -n "${name}" ] && [ -f "/etc/products.d/SUSE_${name}.prod" ]; then
        prod="SUSE_${name}.prod"
    else
        prod=$(cd /etc/products.d && for f in *.prod; do [ -f "${f}" ] && echo "${f}"; done | tail -n 1)
    fi
    if [ -n "${prod}" ]; then
        ln -sfn "${prod}" /etc/products.d/baseproduct
    fi
}

# suseSetupProductInformation: refused, as in KIWI 10: it installed the
# first product zypper offered, for distributions long out of support
# whose product handling zypper no longer has. A script that calls it
# stops with this message instead of building an image without it.
function suseSetupProductInformation {
    echo "suseSetupProductInformation: zypper's product handling it was written for is gone (KIWI 10 removed it too): install the product's release package with the description's <packages> or <product>" >&2
    return 1
}

# suseImportBuildKey: imports the build keys the distribution ships
# (/usr/lib/rpm/gnupg/keys/gpg-pubkey-*.asc, or dumped from
# suse-build-key.gpg) that rpm does not know yet.
function suseImportBuildKey {
    local dir=/usr/lib/rpm/gnupg/keys tmp="" file key
    if [ ! -d "${dir}" ]; then
        tmp=$(mktemp -d)
        dir=${tmp}
        if [ -x /usr/lib/rpm/gnupg/dumpsigs ]; then
            (cd "${tmp}" && /usr/lib/rpm/gnupg/dumpsigs /usr/lib/rpm/gnupg/suse-build-key.gpg)
        fi
    fi
    for file in "${dir}"/gpg-pubkey-*.asc; do
        [ -e "${file}" ] || continue
        key=$(basename "${file}" .asc)
        if rpm -q "${key}" >/dev/null 2>&1; then
            continue
        fi
        echo "Importing ${key} to rpm database"
        rpm --import "${file}"
    done
    if [ -n "${tmp}" ]; then rm -rf "${tmp}"; fi
}

# suseRemoveYaST: erases the yast packages, unless firstboot or
# autoinstallation needs them (KIWI 9's).
function suseRemoveYaST {
    if [ -e /etc/YaST2/firstboot.xml ] || [ -e /var/lib/autoinstall/autoconf/autoconf.xml ]; then
        return 0
    fi
    local pkgs
    pkgs=$(rpm -qa | grep yast || true)
    if [ -n "${pkgs}" ]; then
        echo "${pkgs}" | xargs rpm -e --nodeps
    fi
}

#--------------------------------------------------------------------
# Stripping: documentation, locales, libraries, tools
#--------------------------------------------------------------------

# baseStripAndKeep KEEP...: removes each file named on stdin whose base
# name matches none of the KEEP patterns (grep patterns).
function baseStripAndKeep {
    local keep=("$@") file base k found
    while read -r file; do
        base=$(basename "${file}")
        found=0
        for k in "${keep[@]}"; do
            if echo "${base}" | grep -q -- "${k}"; then
                found=1
                break
            fi
        done
        if [ "${found}" = 0 ]; then
            Rm -rf "${file}"
        fi
    done
}

# baseStripLocales KEEP...: removes the compiled locales of
# /usr/lib/locale but the ones matching KEEP.
function baseStripLocales {
    find /usr/lib/locale -mindepth 1 -maxdepth 1 -type d 2>/dev/null | baseStripAndKeep "$@"
}

# baseStripTranslations PATTERN: removes the message catalogs
# (/usr/share/locale/**/*.mo) whose path does not match PATTERN.
function baseStripTranslations {
    find /usr/share/locale -name '*.mo' 2>/dev/null | { grep -v -- "$*" || true; } | xargs -r rm -f
}

# baseStripMans KEEP...: removes the manual pages but the ones matching
# KEEP.
function baseStripMans {
    local dir
    for dir in /usr/share/man /usr/local/man /opt/gnome/share/man /opt/kde3/share/man/packages; do
        [ -d "${dir}" ] || continue
        find "${dir}" -mindepth 1 -maxdepth 2 -type f | baseStripAndKeep "$@"
    done
}

# baseStripInfos KEEP...: removes the info files but the ones matching
# KEEP.
function baseStripInfos {
    find /usr/share/info -mindepth 1 -maxdepth 1 -type f 2>/dev/null | baseStripAndKeep "$@"
}

# baseStripDocs: removes the packages' documentation but copyright and
# license files, and all manual and info pages. (KIWI 9 quoted its list
# of files into one name, so it removed none of them; this removes each.)
function baseStripDocs {
    local dir
    for dir in /usr/share/doc/packages /usr/share/doc /opt/gnome/share/doc/packages /opt/kde3/share/doc/packages; do
        [ -d "${dir}" ] || continue
        find "${dir}" -type f ! -iname '*copying*' ! -iname '*license*' ! -iname '*copyright*' -delete
    done
    rm -rf /usr/share/info /usr/share/man
}

# baseStripTools DIR KEEP: removes every file under DIR whose name is
# not in the space-separated list KEEP.
function baseStripTools {
    local dir=$1 keep=" $2 " file
    # "${dir}/": a usr-merged /bin is a symlink, to look into, not to
    # remove (KIWI's find removes it).
    find "${dir}/" ! -type d -print0 2>/dev/null |
        while IFS= read -r -d '' file; do
            case "${keep}" in
                *" $(basename "${file}") "*) ;;
                *) Rm -fv "${file}" ;;
            esac
        done
}

# baseStripInitrd TOOLS...: for a KIWI-built initrd only: keeps just
# kiwi_strip_tools and TOOLS in the bin directories. With dracut (the
# only initrd system here) it does nothing, as in KIWI.
function baseStripInitrd {
    if [ "${kiwi_initrd_system:-}" = dracut ]; then
        echo "dracut initrd system requested, initrd strip skipped"
        return 0
    fi
    local dir
    for dir in /sbin /usr/sbin /usr/bin /bin; do
        baseStripTools "${dir}" "${kiwi_strip_tools:-} $*"
    done
}

function suseStripInitrd { baseStripInitrd "$@"; }
function rhelStripInitrd { baseStripInitrd "$@"; }
function debianStripInitrd { baseStripInitrd "$@"; }

# baseStripUnusedLibs KEEP...: removes the shared libraries no program
# in the bin directories links to, but the ones whose names start with
# KEEP.
function baseStripUnusedLibs {
    local needed bin lib target dir name keep
    needed=$(mktemp)
    ldconfig 2>/dev/null || true
    # One ldd for all programs (it takes many), then each library once:
    # its name and the name of the file it links to.
    for bin in /usr/bin/* /bin/* /sbin/* /usr/sbin/* /lib/systemd/systemd-*; do
        if [ -f "${bin}" ]; then printf '%s\0' "${bin}"; fi
    done | { xargs -0 -r ldd 2>/dev/null || true; } | { grep -o '/[^ :]*' || true; } | sort -u |
        while read -r lib; do
            [ -e "${lib}" ] || continue
            target=$(readlink -f "${lib}")
            echo "${lib##*/}"
            echo "${target##*/}"
        done | sort -u >"${needed}"
    for dir in /lib /lib64 /usr/lib /usr/lib64 /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu; do
        for lib in "${dir}"/lib*; do
            [ -f "${lib}" ] && [ ! -L "${lib}" ] || continue
            name=${lib##*/}
            if grep -qxF -- "${name}" "${needed}"; then continue; fi
            # KEEP may come as one word with spaces, as KIWI takes it.
            # shellcheck disable=SC2048
            for keep in $*; do
                case "${name}" in "${keep}"*) continue 2 ;; esac
            done
            echo "Removing library: ${lib}"
            rm -f "${lib}"
        done
    done
    rm -f "${needed}"
}

#--------------------------------------------------------------------
# Kernel: modules, firmware
#--------------------------------------------------------------------

# baseKernelDriverMatches MODULE: whether the module's path matches one
# of the kiwi_drivers patterns (comma-separated, bash regular expressions).
function baseKernelDriverMatches {
    local pattern
    local drivers=${kiwi_drivers:-}
    for pattern in ${drivers//,/ }; do
        if [[ $1 =~ ${pattern} ]]; then
            return 0
        fi
    done
    return 1
}

# baseCreateKernelTree: a copy of /lib/modules in /kernel-tree to strip.
function baseCreateKernelTree {
    echo "Creating copy of kernel tree for strip operations"
    mkdir -p /kernel-tree
    cp -a /lib/modules/. /kernel-tree/
}

# baseStripKernelModules: removes from /kernel-tree the modules that
# match no kiwi_drivers pattern.
function baseStripKernelModules {
    local dir module
    for dir in /kernel-tree/*; do
        [ -d "${dir}/kernel" ] || continue
        echo "Downsizing kernel modules for ${dir}"
        find "${dir}/kernel" \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) | sort |
            while read -r module; do
                if ! baseKernelDriverMatches "${module}"; then
                    echo "Deleting unwanted module: ${module}"
                    rm -f "${module}"
                fi
            done
    done
}

# baseFixupKernelModuleDependencies: brings back into /kernel-tree the
# modules the kept ones depend on.
function baseFixupKernelModuleDependencies {
    local dir version module name dep copy
    for dir in /kernel-tree/*; do
        [ -d "${dir}" ] || continue
        version=$(basename "${dir}")
        echo "Checking kernel dependencies for ${dir}"
        find "${dir}" \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) |
            while read -r module; do
                name=$(basename "${module}")
                name=${name%%.ko*}
                { modprobe --set-version "${version}" --ignore-install --show-depends "${name}" 2>/dev/null || true; } |
                    sed -ne 's:.*insmod /\?::p' | cut -d' ' -f1 |
                    while read -r dep; do
                        [ -f "/${dep}" ] || continue
                        copy=/kernel-tree/${dep#lib/modules/}
                        if [ ! -f "${copy}" ]; then
                            echo "Fix ${module}: needs ${copy}"
                            mkdir -p "$(dirname "${copy}")"
                            cp -a "/${dep}" "${copy}"
                        fi
                    done
            done
    done
}

# baseSyncKernelTree: /lib/modules becomes the stripped /kernel-tree.
function baseSyncKernelTree {
    echo "Replace kernel tree with downsized version"
    rm -rf /lib/modules/*
    cp -a /kernel-tree/. /lib/modules/
    rm -rf /kernel-tree
}

# baseStripModules: where a module is in a kernel's updates/ too, the
# older copy outside updates/ is removed.
function baseStripModules {
    local dups file
    dups=$(find /lib/modules -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) -printf '%f\n' |
        sort | uniq -d)
    if [ -z "${dups}" ]; then
        echo "baseStripModules: No old versions for update drivers found"
        return 0
    fi
    find /lib/modules -type f -path '*/updates/*' -printf '%f\n' | sort -u | { grep -xF -f - <(echo "${dups}") || true; } |
        while read -r name; do
            find /lib/modules -type f -name "${name}" ! -path '*/updates/*' | while read -r file; do
                echo "baseStripModules: Update driver found for ${name}"
                echo "baseStripModules: Removing old version: ${file}"
                rm -f "${file}"
            done
        done
}

# baseStripFirmware: keeps only the firmware files (and licenses) a
# kernel module in the root asks for.
function baseStripFirmware {
    local need fw match rel
    [ -d /lib/firmware ] || return 0
    need=$(mktemp)
    # modinfo takes many modules at once: one call, not one per module.
    find /lib/modules \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) -print0 |
        { xargs -0 -r modinfo -F firmware 2>/dev/null || true; } | sort -u >"${need}"
    mkdir -p /lib/firmware-required
    while read -r fw; do
        [ -n "${fw}" ] || continue
        for match in /lib/firmware/"${fw}" /lib/firmware/"${fw}".{xz,gz,zst} /lib/firmware/*/"${fw}" /lib/firmware/*/"${fw}".{xz,gz,zst}; do
            [ -e "${match}" ] || continue
            rel=${match#/lib/firmware/}
            mkdir -p "/lib/firmware-required/$(dirname "${rel}")"
            mv "${match}" "/lib/firmware-required/${rel}"
        done
    done <"${need}"
    find /lib/firmware \( -name 'LICENSE*' -o -name '*txt' \) -type f | while read -r match; do
        rel=${match#/lib/firmware/}
        mkdir -p "/lib/firmware-required/$(dirname "${rel}")"
        mv "${match}" "/lib/firmware-required/${rel}"
    done
    rm -rf /lib/firmware "${need}"
    mv /lib/firmware-required /lib/firmware
}

# baseUpdateModuleDependencies: depmod for every kernel with a
# System.map.
function baseUpdateModuleDependencies {
    local dir version
    for dir in /lib/modules/*; do
        [ -d "${dir}" ] || continue
        version=$(basename "${dir}")
        if [ -f "/boot/System.map-${version}" ]; then
            depmod -F "/boot/System.map-${version}" "${version}"
        fi
    done
}

# baseStripKernel: for a KIWI-built initrd only: removes the
# kiwi_strip_delete files, keeps only the kiwi_drivers modules (and what
# they need) and the firmware they use. With dracut it does nothing, as
# in KIWI.
function baseStripKernel {
    if [ "${kiwi_initrd_system:-}" = dracut ]; then
        echo "dracut initrd system requested, kernel strip skipped"
        return 0
    fi
    local file
    for file in ${kiwi_strip_delete:-}; do
        echo "Removing file/directory: ${file}"
        rm -rf "${file}"
    done
    baseCreateKernelTree
    baseStripKernelModules
    baseFixupKernelModuleDependencies
    baseSyncKernelTree
    baseStripModules
    baseStripFirmware
    baseUpdateModuleDependencies
}

function suseStripKernel { baseStripKernel; }
function rhelStripKernel { baseStripKernel; }
function debianStripKernel { baseStripKernel; }

# rhelSplashToGrub: moves RHEL's grub splash image to /usr/lib/grub.
function rhelSplashToGrub {
    if [ -e /boot/grub/splash.xpm.gz ]; then
        mkdir -p /usr/lib/grub
        mv /boot/grub/splash.xpm.gz /usr/lib/grub/
    fi
}

#--------------------------------------------------------------------
# Clean up, and what the .profile variables answer
#--------------------------------------------------------------------

# baseCleanup / suseCleanup: removes one-time state the target system
# makes again (systemd's random seed).
function baseCleanup {
    rm -f /var/lib/systemd/random-seed
}

function suseCleanup { baseCleanup; }

function baseGetPackagesForDeletion { echo "${kiwi_delete:-}"; }
function baseGetProfilesUsed { echo "${kiwi_profiles:-}"; }

function baseCleanMount { deprecated baseCleanMount "kiwi mounts and unmounts for every script itself"; }
function baseMount { deprecated baseMount "kiwi mounts /proc, /sys and /dev for every script itself"; }
function suseConfig { deprecated suseConfig "SuSEconfig no longer exists"; }
