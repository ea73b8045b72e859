# shellcheck shell=bash
# .ci/postgres.sh: a throwaway PostgreSQL server for the tests of
# registry/sqlstore.
#
# Source it from bash (it changes the caller's environment):
#
#	source .ci/postgres.sh || exit 1
#	trap pushrules_stop_postgres EXIT
#	(cd registry/sqlstore && go test ./...)
#
# It installs PostgreSQL from Debian's packages when no initdb/pg_ctl is
# found (needs root and apt), creates a cluster in a new temporary directory
# owned by the "postgres" user (PostgreSQL refuses to run as root), starts it
# on 127.0.0.1 at the first free port from 55432 (or $PUSHRULES_PG_PORT),
# with its unix socket in that directory and durability turned off (fsync,
# synchronous_commit: a test server), creates the database "pushrules" and
# exports
#
#	PUSHRULES_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:PORT/pushrules?sslmode=disable
#
# It defines pushrules_stop_postgres, which stops the server and removes the
# directory; it is safe to call more than once. On failure it prints why on
# standard error, leaves nothing running and returns non-zero. It does not
# use `set -e` or `exit`, so it leaves the caller's shell options alone.
#
# Run directly with a command, it starts the server, runs the command with
# the variable set, stops the server and exits with the command's status:
#
#	bash .ci/postgres.sh sh -c 'cd registry/sqlstore && go test ./...'

_pushrules_pg_log() { printf 'postgres.sh: %s\n' "$*" >&2; }

# _pushrules_pg_bindir prints the directory holding initdb and pg_ctl.
_pushrules_pg_bindir() {
	local d
	# The newest version first.
	while IFS= read -r d; do
		if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
			printf '%s\n' "$d"
			return 0
		fi
	done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
	d=$(command -v initdb 2>/dev/null) || return 1
	d=$(dirname "$(readlink -f "$d")")
	[[ -x $d/pg_ctl ]] || return 1
	printf '%s\n' "$d"
}

# _pushrules_pg_as_owner runs a command as the cluster's owner.
_pushrules_pg_as_owner() {
	(
		cd / || exit 1 # the owner may not be allowed into the caller's directory
		if [[ $PUSHRULES_PG_OWNER == "$(id -un)" ]]; then
			"$@"
		elif command -v runuser >/dev/null 2>&1; then
			runuser -u "$PUSHRULES_PG_OWNER" -- "$@"
		else
			su -s /bin/sh "$PUSHRULES_PG_OWNER" -c "$(printf '%q ' "$@")"
		fi
	)
}

# _pushrules_pg_port_free reports whether nothing listens on 127.0.0.1:$1.
_pushrules_pg_port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pushrules_stop_postgres() {
	if [[ -n ${PUSHRULES_PG_DIR:-} && -d $PUSHRULES_PG_DIR ]]; then
		if [[ -f $PUSHRULES_PG_DIR/data/postmaster.pid ]]; then
			_pushrules_pg_as_owner "$PUSHRULES_PG_BIN/pg_ctl" -D "$PUSHRULES_PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
				_pushrules_pg_log "pg_ctl stop failed; removing $PUSHRULES_PG_DIR anyway"
		fi
		rm -rf -- "$PUSHRULES_PG_DIR"
	fi
	PUSHRULES_PG_DIR=
	unset PUSHRULES_TEST_POSTGRES_DSN
	return 0
}

pushrules_start_postgres() {
	local bin port dir tries
	if ! bin=$(_pushrules_pg_bindir); then
		_pushrules_pg_log "no initdb/pg_ctl found; installing PostgreSQL from Debian's packages"
		if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
			_pushrules_pg_log "cannot install PostgreSQL: need root and apt-get (install the Debian package postgresql)"
			return 1
		fi
		if ! apt-get update -qq >&2 ||
			! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2; then
			_pushrules_pg_log "apt-get install postgresql failed"
			return 1
		fi
		if ! bin=$(_pushrules_pg_bindir); then
			_pushrules_pg_log "PostgreSQL installed, but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
			return 1
		fi
	fi
	PUSHRULES_PG_BIN=$bin

	# PostgreSQL will not run as root: use the postgres user.
	PUSHRULES_PG_OWNER=$(id -un)
	if [[ $(id -u) == 0 ]]; then
		PUSHRULES_PG_OWNER=postgres
		if ! id postgres >/dev/null 2>&1 &&
			! useradd --system --no-create-home --shell /bin/sh postgres; then
			_pushrules_pg_log "cannot create the user postgres"
			return 1
		fi
	fi

	if ! dir=$(mktemp -d "${TMPDIR:-/tmp}/pushrules-pg.XXXXXX"); then
		_pushrules_pg_log "mktemp failed"
		return 1
	fi
	PUSHRULES_PG_DIR=$dir
	chmod 0755 "$dir"
	if ! chown "$PUSHRULES_PG_OWNER" "$dir"; then
		_pushrules_pg_log "cannot give $dir to $PUSHRULES_PG_OWNER"
		pushrules_stop_postgres
		return 1
	fi

	if ! _pushrules_pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
		>"$dir/initdb.log" 2>&1; then
		_pushrules_pg_log "initdb failed:"
		tail -n 20 "$dir/initdb.log" >&2
		pushrules_stop_postgres
		return 1
	fi

	port=${PUSHRULES_PG_PORT:-55432}
	for ((tries = 0; tries < 50; tries++)); do
		_pushrules_pg_port_free "$port" && break
		port=$((port + 1))
	done
	if ((tries == 50)); then
		_pushrules_pg_log "no free port from ${PUSHRULES_PG_PORT:-55432} to $port"
		pushrules_stop_postgres
		return 1
	fi

	if ! _pushrules_pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null 2>&1; then
		_pushrules_pg_log "the server did not start on 127.0.0.1:$port:"
		tail -n 20 "$dir/server.log" >&2
		pushrules_stop_postgres
		return 1
	fi

	if ! "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres pushrules >"$dir/createdb.log" 2>&1; then
		_pushrules_pg_log "createdb failed:"
		cat "$dir/createdb.log" >&2
		pushrules_stop_postgres
		return 1
	fi

	export PUSHRULES_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/pushrules?sslmode=disable"
	_pushrules_pg_log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running in $dir; PUSHRULES_TEST_POSTGRES_DSN=$PUSHRULES_TEST_POSTGRES_DSN"
	return 0
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	# Run directly.
	if (($# == 0)); then
		printf 'usage: source %s   (or: bash %s COMMAND [ARG...])\n' "$0" "$0" >&2
		exit 2
	fi
	pushrules_start_postgres || exit 1
	trap pushrules_stop_postgres EXIT
	"$@"
	exit $?
fi

pushrules_start_postgres
