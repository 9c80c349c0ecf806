# The guestbook's API, as its PHP original answers it:
#   ?cmd=set&key=K&value=V  writes V at K on the leader: {"message": "Updated"}
#   ?cmd=get&key=K          reads K from a follower:     {"data": "V"}
# Run by busybox httpd as CGI (QUERY_STRING); talks RESP over nc.

header() { printf 'Content-Type: application/json\r\n\r\n'; }
fail() { printf 'Status: %s\r\nContent-Type: application/json\r\n\r\n{"error": "%s"}\n' "$1" "$2"; exit 0; }

param() { # the URL-decoded value of $1 in the query string
  raw="$(printf '%s' "&${QUERY_STRING:-}" | sed -n "s/.*&$1=\([^&]*\).*/\1/p")"
  printf '%b' "$(printf '%s' "$raw" | sed 's/+/ /g; s/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g')"
}

# where redis-master and redis-slave are: by DNS name, or from the Service
# variables the kubelet sets when GET_HOSTS_FROM=env
if [ "${GET_HOSTS_FROM:-dns}" = env ]; then
  leader="${REDIS_MASTER_SERVICE_HOST:?}"
  follower="${REDIS_SLAVE_SERVICE_HOST:?}"
else
  leader=redis-master
  follower=redis-slave
fi

redis() { # redis HOST ARG...: one command and QUIT; prints the first reply's lines
  host="$1"; shift
  {
    printf '*%d\r\n' "$#"
    for arg; do printf '$%d\r\n%s\r\n' "$(printf %s "$arg" | wc -c)" "$arg"; done
    printf '*1\r\n$4\r\nQUIT\r\n'
  } | nc -w 5 "$host" 6379 | tr -d '\r'
}

key="$(param key)"
case "$(param cmd)" in
  set)
    answer="$(redis "$leader" SET "$key" "$(param value)")" || fail "502 Bad Gateway" "redis-master did not answer"
    case "$answer" in +OK*) header; echo '{"message": "Updated"}' ;; *) fail "502 Bad Gateway" "redis-master: $answer" ;; esac ;;
  get)
    answer="$(redis "$follower" GET "$key")" || fail "502 Bad Gateway" "redis-slave did not answer"
    case "$answer" in
      '$-1'*) header; echo '{"data": ""}' ;;
      '$'*) header; printf '{"data": "%s"}\n' "$(printf '%s\n' "$answer" | sed -n 2p | sed 's/\\/\\\\/g; s/"/\\"/g')" ;;
      *) fail "502 Bad Gateway" "redis-slave: $answer" ;;
    esac ;;
  *) fail "400 Bad Request" "cmd must be set or get" ;;
esac
