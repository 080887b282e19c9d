# bash completion for docket                                 -*- shell-script -*-
#
# Verbs, each verb's options, workflow names (the *.yaml files of
# $DOCKET_WORKFLOWS, the installed workflows, or ./workflows), files for
# validate and graph, and case ids from a running daemon (asked with a
# one-second timeout, so a missing daemon never stalls the prompt).

_docket_workflow_names()
{
	local dir
	for dir in "${DOCKET_WORKFLOWS:-}" /usr/local/share/docket/workflows \
		   /usr/share/docket/workflows ./workflows; do
		if [[ -n $dir && -d $dir ]]; then
			local f
			for f in "$dir"/*.yaml; do
				[[ -e $f ]] || continue
				f=${f##*/}
				printf '%s\n' "${f%.yaml}"
			done
			return
		fi
	done
}

# Case ids of the open cases the caller may see.
_docket_case_ids()
{
	local -a global=("$@")
	DOCKET_TIMEOUT=1 command docket "${global[@]}" list --limit 1000 --json 2>/dev/null |
		sed -n 's/^      "id": "\([^"]*\)",\{0,1\}$/\1/p'
}

_docket()
{
	local cur prev words cword
	_init_completion || return

	local verbs="validate graph workflows new show list advance note assign
		history stuck stats inbox retry plugins reload backup check status version"
	local -a global=()
	local i verb= vi=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--home | --as)
			global+=("${words[i]}" "${words[i + 1]}")
			((i++))
			;;
		--home=* | --as=*) global+=("${words[i]}") ;;
		-*) ;;
		*)
			verb=${words[i]}
			vi=$i
			break
			;;
		esac
	done

	if [[ -z $verb ]]; then
		case $prev in
		--home)
			_filedir -d
			return
			;;
		--as) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--home --as --help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
		fi
		return
	fi

	local opts="--help"
	case $verb in
	validate) opts+=" --json --plugins" ;;
	graph) opts+=" --format" ;;
	new | advance) opts+=" --json -s --set -m --note" ;;
	list) opts+=" --json -w --workflow --stage --mine --assignee -n --limit --cursor --all" ;;
	stuck) opts+=" --json -w --workflow" ;;
	inbox) opts+=" --json --all" ;;
	version | workflows | show | note | assign | history | stats | retry | plugins | \
		reload | backup | check | status) opts+=" --json" ;;
	esac

	case $prev in
	--plugins | backup)
		_filedir -d
		return
		;;
	--format)
		COMPREPLY=($(compgen -W 'dot mermaid' -- "$cur"))
		return
		;;
	-w | --workflow)
		COMPREPLY=($(compgen -W "$(_docket_workflow_names)" -- "$cur"))
		return
		;;
	-s | --set)
		compopt -o nospace
		if [[ $cur == *=@* ]]; then
			local pre=${cur%%=@*}=@
			cur=${cur#*=@}
			_filedir
			COMPREPLY=("${COMPREPLY[@]/#/$pre}")
		fi
		return
		;;
	-m | --note | --stage | --assignee | -n | --limit | --cursor) return ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi

	# Which positional argument of the verb this is.
	local npos=0
	for ((i = vi + 1; i < cword; i++)); do
		case ${words[i]} in
		-s | --set | -m | --note | -w | --workflow | --stage | --assignee | \
			-n | --limit | --cursor | --format | --plugins) ((i++)) ;;
		-*) ;;
		*) ((npos++)) ;;
		esac
	done

	case $verb in
	validate) _filedir '@(yaml|yml)' ;;
	graph)
		_filedir '@(yaml|yml)'
		COMPREPLY+=($(compgen -W "$(_docket_workflow_names)" -- "$cur"))
		;;
	new | stats)
		((npos == 0)) && COMPREPLY=($(compgen -W "$(_docket_workflow_names)" -- "$cur"))
		;;
	show | advance | note | assign | history | retry)
		((npos == 0)) && COMPREPLY=($(compgen -W "$(_docket_case_ids "${global[@]}")" -- "$cur"))
		;;
	esac
} &&
	complete -F _docket docket

# ex: filetype=sh
