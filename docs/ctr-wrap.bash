# SPDX-License-Identifier: Apache-2.0
# bash completion for ctr-wrap. Self-contained: it does not need the bash-completion package.
#
# The option lists follow wrapper/commands.c, wrapper/cmd_*.c and wrapper/spec_opts.c;
# tests/wrapper/test_wrapper.py (test_docs_consistent) checks them against `ctr-wrap CMD --help`.

_ctr_wrap_commands="run create start restart ps logs attach exec stop kill pause unpause wait rm inspect stats top
	update spec image"
_ctr_wrap_image_commands="load ls rm inspect"
_ctr_wrap_sources="oci: oci-archive: docker-archive:"

# Options shared by run and spec (wrapper/spec_opts.c). Flags take no value.
_ctr_wrap_spec_flags="--read-only --privileged -t --tty"
_ctr_wrap_spec_args="-e --env --env-file -u --user -w --workdir --hostname -v --volume --tmpfs -m --memory
	--pids-limit --cpus --ulimit --oom-score-adj --cap-add --cap-drop --security-opt --network --cgroup-parent"

# What `kill -s` accepts and runc understands (glibc's POLL is not one of runc's names).
_ctr_wrap_signals="HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP
	TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH PWR SYS"

_ctr_wrap_caps="ALL CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID
	CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW
	CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT
	CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE
	CAP_AUDIT_WRITE CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM
	CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE"

_ctr_wrap_ulimits="as= core= cpu= data= fsize= locks= memlock= msgqueue= nice= nofile= nproc= rss= rtprio=
	rttime= sigpending= stack="

# _ctr_wrap_cmd_opts CMD FLAGS|ARGS: the command's options without / with a value ("" for the global ones).
_ctr_wrap_cmd_opts()
{
	local f="" a=""
	case $1 in
	"") f="-h --help --version"; a="--root --storage --runtime --conmon" ;;
	run)
		f="$_ctr_wrap_spec_flags -d --detach -i --interactive --rm -P --publish-all"
		a="$_ctr_wrap_spec_args --name --detach-keys --log-driver --log-opt -p --publish --entrypoint --restart" ;;
	create)
		f="$_ctr_wrap_spec_flags -i --interactive --rm -P --publish-all"
		a="$_ctr_wrap_spec_args --name --log-driver --log-opt -p --publish --entrypoint --restart" ;;
	start) f="-a --attach -i --interactive --all-restartable"; a="--detach-keys" ;;
	restart) a="-t --time" ;;
	stats) f="--no-stream"; a="--format" ;;
	update) a="-m --memory --cpus --pids-limit" ;;
	spec) f="$_ctr_wrap_spec_flags"; a="$_ctr_wrap_spec_args --id --entrypoint" ;;
	ps) f="-a --all -q --quiet"; a="--format" ;;
	logs) f="-f --follow"; a="--tail --since" ;;
	attach) f="--no-stdin"; a="--detach-keys" ;;
	exec) f="-t --tty -i --interactive"; a="--detach-keys" ;;
	stop) a="-t --time" ;;
	kill) a="-s --signal" ;;
	rm | image-rm) f="-f --force" ;;
	image-load) a="--name" ;;
	image-ls) f="-q --quiet"; a="--format" ;;
	esac
	[ -n "$1" ] && f="$f -h --help"
	if [ "$2" = FLAGS ]; then echo "$f"; else echo "$a"; fi
}

# _ctr_wrap_add WORDS [PREFIX]: add the blank-separated WORDS that start with $cur (with PREFIX put back).
_ctr_wrap_add()
{
	local c
	local -a list
	IFS=$' \t\n' read -r -d '' -a list <<<"$1"
	for c in "${list[@]}"; do
		[[ $c == "$cur"* ]] && COMPREPLY+=("$2$c")
	done
}

# _ctr_wrap_containers ALL|RUNNING: names, and short ids once something is typed; honours --root.
_ctr_wrap_containers()
{
	local json
	local -a argv=("$_ctr_wrap_bin")
	[ -n "$_ctr_wrap_root" ] && argv+=(--root "$_ctr_wrap_root")
	argv+=(ps --format json)
	[ "$1" = ALL ] && argv+=(-a)
	json=$("${argv[@]}" 2>/dev/null) || return
	local c
	while IFS= read -r c; do
		[[ $c == "$cur"* ]] && COMPREPLY+=("$c")
	done < <(sed -n 's/^.*"Name":"\([^"]*\)".*$/\1/p' <<<"$json")
	[ -n "$cur" ] && _ctr_wrap_add "$(sed -n 's/^{"Id":"\([0-9a-f]\{12\}\).*$/\1/p' <<<"$json")"
}

# _ctr_wrap_images: the names of the loaded images; honours --storage.
_ctr_wrap_images()
{
	local -a argv=("$_ctr_wrap_bin")
	[ -n "$_ctr_wrap_storage" ] && argv+=(--storage "$_ctr_wrap_storage")
	_ctr_wrap_add "$("${argv[@]}" image ls --format json 2>/dev/null | grep -o '"Names":\[[^]]*\]' |
		grep -o '"[^"]*"' | grep -v '"Names"' | tr -d '"')"
}

# _ctr_wrap_files -f|-d
_ctr_wrap_files()
{
	local c
	compopt -o filenames 2>/dev/null
	while IFS= read -r c; do
		COMPREPLY+=("$c")
	done < <(compgen "$1" -- "$cur")
}

# The value of option $1 (the current word).
_ctr_wrap_value()
{
	local up=${cur^^}
	case $1 in
	--root | --storage) _ctr_wrap_files -d ;;
	--runtime) _ctr_wrap_add "runc crun"; _ctr_wrap_files -f ;;
	--conmon | --env-file) _ctr_wrap_files -f ;;
	-v | --volume) [[ $cur != *:* ]] && _ctr_wrap_files -f ;;
	-e | --env) [[ $cur != *=* ]] && _ctr_wrap_add "$(compgen -e)" ;;
	--network) _ctr_wrap_add "none host" ;;
	--log-driver) _ctr_wrap_add "k8s-file journald none" ;;
	--log-opt) _ctr_wrap_add "max-size="; compopt -o nospace 2>/dev/null ;;
	--format) _ctr_wrap_add "table json" ;;
	--restart) _ctr_wrap_add "no on-failure on-failure: always unless-stopped"
		[[ ${COMPREPLY[*]} == on-failure: ]] && compopt -o nospace 2>/dev/null ;;
	--ulimit) _ctr_wrap_add "$_ctr_wrap_ulimits"; compopt -o nospace 2>/dev/null ;;
	--cap-add | --cap-drop)
		# Any case, with or without CAP_.
		local cur=$up
		if [[ CAP_ == "$up"* || $up == CAP_* || ALL == "$up"* ]]; then
			_ctr_wrap_add "$_ctr_wrap_caps"
		else
			_ctr_wrap_add "${_ctr_wrap_caps//CAP_/}"
		fi ;;
	-s | --signal)
		if [[ $up == SIG* ]]; then
			local cur=${up#SIG}
			_ctr_wrap_add "$_ctr_wrap_signals" SIG
		else
			local cur=$up
			_ctr_wrap_add "$_ctr_wrap_signals"
		fi ;;
	--security-opt)
		if [[ $cur == seccomp=?* && $cur != seccomp=u* ]]; then
			local cur=${cur#seccomp=} c
			compopt -o filenames 2>/dev/null
			while IFS= read -r c; do
				COMPREPLY+=("seccomp=$c")
			done < <(compgen -f -- "$cur")
		else
			_ctr_wrap_add "seccomp= seccomp=unconfined no-new-privileges"
			[[ ${COMPREPLY[*]} == seccomp= ]] && compopt -o nospace 2>/dev/null
		fi ;;
	esac
	return 0
}

# COMMAND and its arguments after ROOTFS: absolute paths inside ROOTFS.
_ctr_wrap_in_rootfs()
{
	local rootfs=$1 c
	# shellcheck disable=SC2088 # a literal ~ as typed on the command line
	[[ $rootfs == "~/"* ]] && rootfs=$HOME/${rootfs#"~/"}
	rootfs=${rootfs%/}
	[[ $cur == /* && -d $rootfs ]] || return
	while IFS= read -r c; do
		if [ -d "$c" ]; then COMPREPLY+=("${c#"$rootfs"}/"); else COMPREPLY+=("${c#"$rootfs"}"); fi
	done < <(compgen -f -- "$rootfs$cur")
	compopt -o nospace 2>/dev/null
}

_ctr_wrap()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}") joined=() pos=()
	local _ctr_wrap_bin=${COMP_WORDS[0]} _ctr_wrap_root="" _ctr_wrap_storage="" cmd="" i w flags args want=""
	local dashdash="" eqopt=""
	COMPREPLY=()
	# shellcheck disable=SC2088
	[[ $_ctr_wrap_bin == "~/"* ]] && _ctr_wrap_bin=$HOME/${_ctr_wrap_bin#"~/"}

	# bash splits "--opt=value" at '=' (COMP_WORDBREAKS): put the pieces back together.
	for ((i = 0; i < ${#words[@]}; i++)); do
		w=${words[i]}
		if [[ $w == "=" && ${#joined[@]} -gt 0 && ${joined[-1]} == --* ]]; then
			joined[-1]+="="
			if ((i + 1 < ${#words[@]})); then
				joined[-1]+=${words[i + 1]}
				((i++))
			fi
		else
			joined+=("$w")
		fi
	done
	words=("${joined[@]}")
	if [[ $cur == "=" && ${words[-1]} == --* ]]; then
		eqopt=${words[-1]}
		cur=""
		unset 'words[-1]'
	elif [[ ${words[-1]} == --*= ]]; then
		eqopt=${words[-1]%=}
		unset 'words[-1]'
	elif [[ $cur == --*=* ]]; then
		eqopt=${cur%%=*}
		cur=${cur#*=}
	fi

	# Global options, the command, then its options up to the first positional (GLib's strict POSIX mode).
	flags=$(_ctr_wrap_cmd_opts "" FLAGS)
	args=$(_ctr_wrap_cmd_opts "" ARGS)
	for ((i = 1; i < ${#words[@]}; i++)); do
		w=${words[i]}
		if [ -n "$want" ]; then
			[ "$want" = --root ] && [ -z "$cmd" ] && _ctr_wrap_root=$w
			[ "$want" = --storage ] && [ -z "$cmd" ] && _ctr_wrap_storage=$w
			want=""
			continue
		fi
		if [ -z "$dashdash" ] && [ ${#pos[@]} -eq 0 ] && [[ $w == -?* ]]; then
			case $w in
			--) [ -n "$cmd" ] && dashdash=1 ;;
			--root=*) [ -z "$cmd" ] && _ctr_wrap_root=${w#--root=} ;;
			--storage=*) [ -z "$cmd" ] && _ctr_wrap_storage=${w#--storage=} ;;
			--*=*) ;;
			*) [[ " $args " == *" $w "* ]] && want=$w ;;
			esac
			continue
		fi
		if [ -z "$cmd" ]; then
			cmd=$w
			flags=$(_ctr_wrap_cmd_opts "$cmd" FLAGS)
			args=$(_ctr_wrap_cmd_opts "$cmd" ARGS)
		else
			pos+=("$w")
		fi
	done
	[ -n "$want" ] && [ -z "$eqopt" ] && eqopt=$want

	if [ -n "$eqopt" ]; then
		_ctr_wrap_value "$eqopt"
		return 0
	fi
	if [ -z "$dashdash" ] && [ ${#pos[@]} -eq 0 ] && [[ $cur == -* ]]; then
		_ctr_wrap_add "$flags $args"
		return 0
	fi
	if [ -z "$cmd" ]; then
		_ctr_wrap_add "$_ctr_wrap_commands"
		return 0
	fi
	case $cmd in
	run | create | spec)
		if [ ${#pos[@]} -eq 0 ]; then
			_ctr_wrap_files -d
			_ctr_wrap_images
			_ctr_wrap_add "$_ctr_wrap_sources"
		else
			_ctr_wrap_in_rootfs "${pos[0]}"
		fi ;;
	exec | attach | top) [ ${#pos[@]} -eq 0 ] && _ctr_wrap_containers RUNNING ;;
	logs) [ ${#pos[@]} -eq 0 ] && _ctr_wrap_containers ALL ;;
	stop | kill | pause | unpause | stats | update) _ctr_wrap_containers RUNNING ;;
	start | restart | wait | rm | inspect) _ctr_wrap_containers ALL ;;
	image)
		# Image commands take their options anywhere.
		if [ ${#pos[@]} -eq 0 ]; then
			_ctr_wrap_add "$_ctr_wrap_image_commands"
		elif [[ $cur == -* ]]; then
			_ctr_wrap_add "$(_ctr_wrap_cmd_opts "image-${pos[0]}" FLAGS) $(_ctr_wrap_cmd_opts "image-${pos[0]}" ARGS)"
		else
			case ${pos[0]} in
			load) _ctr_wrap_add "$_ctr_wrap_sources"; [[ $cur == *:* ]] && _ctr_wrap_files -f ;;
			rm | inspect) _ctr_wrap_images ;;
			esac
		fi ;;
	esac
	return 0
}

complete -F _ctr_wrap ctr-wrap
