//! `xlvsadm -h` and `-v`.

pub fn version() -> String {
    format!(
        "xlvsadm v{} (ipvsadm-compatible command line for xlvsd)\n",
        env!("CARGO_PKG_VERSION")
    )
}

pub fn usage() -> String {
    let mut s = version();
    s.push_str(USAGE);
    s
}

const USAGE: &str = "\
Usage (ipvsadm command lines):
  xlvsadm -A|-E -t|-u VIP[:PORT] [-s SCHED] [-p [TIMEOUT]] [-M NETMASK]
  xlvsadm -D -t|-u VIP[:PORT]
  xlvsadm -a|-e -t|-u VIP[:PORT] -r RIP[:PORT] [-g|-i|-m|--fullnat] [-w WEIGHT]
  xlvsadm -d -t|-u VIP[:PORT] -r RIP[:PORT]
  xlvsadm -C
  xlvsadm -Z [-t|-u VIP[:PORT]]
  xlvsadm -L|-l [-n] [-t|-u VIP[:PORT]] [--stats|--rate] [--exact] [--nosort]
  xlvsadm -L|-l -c | --timeout
  xlvsadm -S [-n]
  xlvsadm -R                      (ipvsadm lines on stdin)
  xlvsadm --set TCP TCPFIN UDP
  xlvsadm -h | -v

Commands:
  --add-service     -A   add a virtual service
  --edit-service    -E   replace a service's scheduler and persistence
  --delete-service  -D   delete a virtual service
  --add-server      -a   add a real server to a service
  --edit-server     -e   change a real server's forwarding or weight
  --delete-server   -d   delete a real server
  --clear           -C   delete every service
  --zero            -Z   zero the counters of one service or of all
  --list            -L|-l  list the table (always numeric)
  --save            -S   print the table as commands for -R
  --restore         -R   apply the commands read from stdin
  --set tcp tcpfin udp   set connection timeouts (seconds)
  --help            -h   this text
  --version         -v   the version

Options:
  --tcp-service   -t VIP[:PORT]  a TCP service; PORT is a number or http,
                                 https, ssh, smtp, ftp, domain (dns); no
                                 PORT means 0, every port (needs -p)
  --udp-service   -u VIP[:PORT]  a UDP service
  --scheduler     -s SCHED       rr wrr lc wlc lblc lblcr dh sh sed nq mh fo
                                 ovf twos; default wlc. All but mh, sh and dh
                                 choose per director: see [cluster] sync
  --persistent    -p [TIMEOUT]   persistent service, TIMEOUT seconds (300)
  --netmask       -M NETMASK     persistence granularity, e.g. 255.255.255.0
  --real-server   -r RIP[:PORT]  a real server; PORT defaults to the
                                 service's and only NAT methods may change it
  --gatewaying    -g             direct routing (ipvsadm's default)
  --ipip          -i             IP-in-IP tunnelling
  --masquerading  -m             NAT
  --fullnat                      FULLNAT (source and destination rewritten)
  --weight        -w WEIGHT      0..65535; 0 = quiescent (default 1)
  --numeric       -n             accepted; output is always numeric
  --connection    -c             list the connection table
  --timeout                      list the connection timeouts
  --stats                        list counters
  --rate                         list rates
  --exact                        counters in full, not K/M/G/T
  --nosort                       list in the daemon's order
  --json                         list as the daemon's JSON

xlvsadm's own commands:
  xlvsadm status | dataplane | ospf ... | drain [SERVICE] | undrain [SERVICE]
  xlvsadm reload | health [SERVICE] | import-keepalived FILE
  (`xlvsadm help` lists them). Global options, anywhere:
  --node NAME  ask the xlvsd of node NAME (/run/xlvs/NAME.sock)
  --socket PATH  ask the xlvsd listening on PATH
";
