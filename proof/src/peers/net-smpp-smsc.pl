#!/usr/bin/perl
# An independent SMSC for our SMPP client, written with CPAN's Net::SMPP (Debian libnet-smpp-perl):
# it shares no code with our client or our simulator. It accepts one ESME connection, answers binds,
# enquire_links and submit_sm, writes every PDU it decoded as one JSON line on stdout (octets in hex,
# so the test reads exactly what crossed the wire), and for each submit_sm that asks for a receipt
# sends a delivery receipt (deliver_sm, esm_class 0x04) in the SMPP 3.4 appendix B text format with
# the receipted_message_id and message_state TLVs. A line on stdin "mo <source> <dest> <hex> <dcs>"
# sends a mobile-originated deliver_sm. It also reassembles concatenated messages itself (UDH
# information elements 0x00 and 0x08) and decodes their text with Perl's own codecs (Encode's
# gsm0338 for data_coding 0, UTF-16BE for 8), printing each whole message as a "message" line.
use strict;
use warnings;
use Net::SMPP;
use JSON::PP;
use Encode qw(decode);
use IO::Select;
use POSIX qw(strftime);

$| = 1;
my $port = shift or die "usage: net-smpp-smsc.pl <port>\n";
my $json = JSON::PP->new->canonical->utf8;
my $listen = Net::SMPP->new_listen('127.0.0.1', port => $port, smpp_version => 0x34, async => 1)
  or die "cannot listen on $port: $!\n";
print $json->encode({ event => 'listening', port => $port + 0 }), "\n";
my $conn = $listen->accept or die "accept: $!\n";
print $json->encode({ event => 'connected' }), "\n";

my $next_id = 0;
my %pending;   # "source dest ref" => { total => n, parts => { seq => text } }

# The body of a short message without its user data header, and the concatenation it names.
sub split_udh {
  my ($sm, $esm) = @_;
  return ($sm, undef) unless $esm & 0x40;
  my $udhl = ord(substr($sm, 0, 1));
  my $ies = substr($sm, 1, $udhl);
  my $concat;
  while (length $ies >= 2) {
    my ($iei, $len) = unpack 'CC', $ies;
    my $val = substr($ies, 2, $len);
    if ($iei == 0x00 && $len == 3) { my ($r, $t, $s) = unpack 'CCC', $val; $concat = { ref => $r, total => $t, seq => $s }; }
    if ($iei == 0x08 && $len == 4) { my ($r, $t, $s) = unpack 'nCC', $val; $concat = { ref => $r, total => $t, seq => $s }; }
    $ies = substr($ies, 2 + $len);
  }
  return (substr($sm, 1 + $udhl), $concat);
}

sub text_of {
  my ($body, $dcs) = @_;
  return decode('UTF-16BE', $body) if $dcs == 8;
  return decode('gsm0338', $body) if $dcs == 0;
  return undef;
}
my $stamp = sub { strftime('%y%m%d%H%M', localtime) };
my %names = (
  0x00000009 => 'bind_transceiver', 0x00000004 => 'submit_sm', 0x00000015 => 'enquire_link',
  0x80000005 => 'deliver_sm_resp', 0x00000006 => 'unbind', 0x80000015 => 'enquire_link_resp',
);
my $sel = IO::Select->new($conn, \*STDIN);
LOOP: while (1) {
  for my $fh ($sel->can_read) {
    if ($fh == \*STDIN) {
      my $line = <STDIN>;
      last LOOP unless defined $line;
      chomp $line;
      my ($verb, $src, $dst, $hex, $dcs) = split / /, $line;
      next unless $verb && $verb eq 'mo';
      $conn->deliver_sm(source_addr => $src, destination_addr => $dst, esm_class => 0,
        data_coding => $dcs + 0, short_message => pack('H*', $hex));
      next;
    }
    my $pdu = $conn->read_pdu;
    unless ($pdu) { print $json->encode({ event => 'closed' }), "\n"; last LOOP; }
    my $cmd = $pdu->{cmd};
    my %out = (event => 'pdu', command => $names{$cmd} // sprintf('0x%08x', $cmd), seq => $pdu->{seq});
    if ($cmd == 0x00000009) {
      @out{qw(system_id password system_type interface_version)} =
        @{$pdu}{qw(system_id password system_type interface_version)};
      $conn->bind_transceiver_resp(seq => $pdu->{seq}, system_id => 'perl-smsc', status => 0);
    } elsif ($cmd == 0x00000004) {
      my $mid = sprintf('NS%08d', ++$next_id);
      @out{qw(service_type source_addr source_addr_ton source_addr_npi destination_addr dest_addr_ton dest_addr_npi
              esm_class protocol_id registered_delivery data_coding)} =
        @{$pdu}{qw(service_type source_addr source_addr_ton source_addr_npi destination_addr dest_addr_ton dest_addr_npi
                   esm_class protocol_id registered_delivery data_coding)};
      $out{short_message_hex} = unpack('H*', $pdu->{short_message} // '');
      $out{message_payload_hex} = unpack('H*', $pdu->{message_payload}) if defined $pdu->{message_payload};
      $out{message_id} = $mid;
      my ($body, $concat) = split_udh($pdu->{short_message} // '', $pdu->{esm_class});
      my $part = text_of($body, $pdu->{data_coding});
      $out{concat} = $concat if $concat;
      my $whole;
      if (!$concat) { $whole = { text => $part, parts => 1 }; }
      else {
        my $key = join ' ', $pdu->{source_addr}, $pdu->{destination_addr}, $concat->{ref};
        my $p = $pending{$key} //= { total => $concat->{total}, parts => {} };
        $p->{parts}{ $concat->{seq} } = $part;
        if (scalar(keys %{ $p->{parts} }) == $p->{total}) {
          $whole = { text => join('', map { $p->{parts}{$_} } 1 .. $p->{total}), parts => $p->{total} };
          delete $pending{$key};
        }
      }
      # The part's own line first: a reader that sees the whole message has seen every part's line.
      print $json->encode(\%out), "\n";
      if ($whole) {
        print $json->encode({ event => 'message', source_addr => $pdu->{source_addr},
          destination_addr => $pdu->{destination_addr}, data_coding => $pdu->{data_coding}, %$whole }), "\n";
      }
      $conn->submit_sm_resp(seq => $pdu->{seq}, message_id => $mid, status => 0);
      if (($pdu->{registered_delivery} // 0) & 0x01) {
        my $text = sprintf('id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:',
          $mid, $stamp->(), $stamp->());
        $conn->deliver_sm(source_addr => $pdu->{destination_addr}, destination_addr => $pdu->{source_addr},
          esm_class => 0x04, data_coding => 0, short_message => $text,
          receipted_message_id => "$mid\0", message_state => pack('C', 2));
      }
    } elsif ($cmd == 0x00000015) {
      $conn->enquire_link_resp(seq => $pdu->{seq});
    } elsif ($cmd == 0x00000006) {
      $conn->unbind_resp(seq => $pdu->{seq});
      print $json->encode(\%out), "\n";
      last LOOP;
    }
    print $json->encode(\%out), "\n" unless $cmd == 0x00000004;
  }
}
