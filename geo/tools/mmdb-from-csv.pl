#!/usr/bin/perl
# Writes a MaxMind DB (.mmdb) from a CSV, in the GeoIP2 record layout, so
# Meridian reads it with the same code as GeoLite2/GeoIP2 files.
#
#   mmdb-from-csv.pl [--type NAME] [--description TEXT] [--record-size N]
#                    [--no-alias] --out FILE [INPUT.csv ...]   (stdin if none)
#
# CSV columns (header line optional, '#' starts a comment line):
#   network,continent,country,subdivision,lat,lon,asn
# network: CIDR ("192.0.2.0/24", "2001:db8::/32") or range
# ("192.0.2.0-192.0.2.99", IPv4 or IPv6). Empty fields are omitted from the
# record. subdivision may hold several codes separated by '|' (most general
# first, like GeoIP2's subdivisions array). Fields map to:
#   continent   -> continent.code
#   country     -> country.iso_code
#   subdivision -> subdivisions[i].iso_code
#   lat, lon    -> location.latitude, location.longitude
#   asn         -> autonomous_system_number
#
# Rows are applied in order. Where networks overlap, a later row's fields
# replace the earlier ones and fields it leaves empty are kept (merge
# strategy "recurse"), so a CSV can list a /8 and then more specific
# networks inside it.
#
# The tree is IPv6 with IPv4 in ::/96; like MaxMind's databases,
# ::ffff:0:0/96 (IPv4-mapped), 2001::/32 (Teredo) and 2002::/16 (6to4) are
# aliased to the IPv4 space (rows inside them are skipped with a count on
# stderr; --no-alias keeps them as ordinary IPv6 networks). Reserved networks
# (10/8, 127/8, ...) are accepted, so test databases can cover loopback.
use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use MaxMind::DB::Writer::Tree;
use Socket qw(inet_pton AF_INET AF_INET6);

my $type        = 'Meridian-Country';
my $description = '';
my $out;
my $record_size = 28;
my $no_alias    = 0;
GetOptions(
    'type=s'        => \$type,
    'description=s' => \$description,
    'out=s'         => \$out,
    'record-size=i' => \$record_size,
    'no-alias'      => \$no_alias,
) or usage();
usage() unless defined $out;
$description = "$type database written by Meridian's mmdb-from-csv.pl"
    if $description eq '';

sub usage {
    print STDERR "usage: $0 [--type NAME] [--description TEXT] [--record-size 24|28|32] [--no-alias] --out FILE [INPUT.csv ...]\n";
    exit 2;
}

my %types = (
    continent                => 'map',
    country                  => 'map',
    location                 => 'map',
    subdivisions             => [ 'array', 'map' ],
    code                     => 'utf8_string',
    iso_code                 => 'utf8_string',
    latitude                 => 'double',
    longitude                => 'double',
    autonomous_system_number => 'uint32',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => $record_size,
    database_type            => $type,
    languages                => ['en'],
    description              => { en => $description },
    map_key_type_callback    => sub { $types{ $_[0] } },
    merge_strategy           => 'recurse',
    alias_ipv6_to_ipv4       => $no_alias ? 0 : 1,
    remove_reserved_networks => 0,
);

# IPv6 prefixes the writer aliases to IPv4: [first 16 bytes, prefix bits].
my @aliased = $no_alias ? () : (
    [ inet_pton( AF_INET6, '::ffff:0:0' ), 96 ],
    [ inet_pton( AF_INET6, '2001::' ),     32 ],
    [ inet_pton( AF_INET6, '2002::' ),     16 ],
);

sub prefix_mask {
    my ( $bits, $len ) = @_;
    my $full = int( $bits / 8 );
    my $mask = ( "\xff" x $full );
    $mask .= chr( ( 0xff << ( 8 - $bits % 8 ) ) & 0xff ) if $bits % 8;
    $mask .= "\0" x ( $len - length $mask );
    return $mask;
}

sub in_alias {
    my $bytes = shift;
    for my $a (@aliased) {
        my $m = prefix_mask( $a->[1], 16 );
        return 1 if ( $bytes & $m ) eq ( $a->[0] & $m );
    }
    return 0;
}

sub parse_ip {
    my ( $ip, $where ) = @_;
    my $b = inet_pton( AF_INET, $ip );
    return ( 4, $b ) if defined $b;
    $b = inet_pton( AF_INET6, $ip );
    return ( 6, $b ) if defined $b;
    die "$where: bad IP address '$ip'\n";
}

my ( $rows, $skipped ) = ( 0, 0 );
my @inputs = @ARGV ? @ARGV : ('-');
for my $file (@inputs) {
    my $fh;
    if ( $file eq '-' ) {
        $fh = \*STDIN;
    }
    else {
        open $fh, '<:encoding(UTF-8)', $file or die "$file: $!\n";
    }
    while ( my $line = <$fh> ) {
        my $where = ( $file eq '-' ? 'stdin' : $file ) . ":$.";
        $line =~ s/\r?\n\z//;
        next if $line =~ /^\s*(#|$)/;
        next if $line =~ /^\s*network\s*,/;    # header
        my @f = map { s/^\s+|\s+$//gr } split /,/, $line, -1;
        die "$where: expected 7 columns (network,continent,country,subdivision,lat,lon,asn), got "
            . scalar(@f) . "\n"
            unless @f == 7;
        my ( $net, $continent, $country, $subdiv, $lat, $lon, $asn ) = @f;

        my %rec;
        $rec{continent} = { code => $continent } if $continent ne '';
        $rec{country}   = { iso_code => $country } if $country ne '';
        if ( $subdiv ne '' ) {
            $rec{subdivisions} = [ map { { iso_code => $_ } } split /\|/, $subdiv ];
        }
        if ( $lat ne '' || $lon ne '' ) {
            die "$where: lat and lon go together\n" unless $lat ne '' && $lon ne '';
            for ( $lat, $lon ) {
                die "$where: bad coordinate '$_'\n"
                    unless /^-?\d+(\.\d+)?$/;
            }
            die "$where: coordinates out of range\n"
                if abs($lat) > 90 || abs($lon) > 180;
            $rec{location} = { latitude => $lat + 0, longitude => $lon + 0 };
        }
        if ( $asn ne '' ) {
            die "$where: bad asn '$asn'\n" unless $asn =~ /^\d+$/ && $asn < 2**32;
            $rec{autonomous_system_number} = $asn + 0;
        }
        die "$where: no fields for $net\n" unless %rec;

        my ( $first, $last );
        if ( $net =~ m{^([^/]+)/(\d+)$} ) {
            my ( $ip, $len ) = ( $1, $2 );
            my ( $v, $b ) = parse_ip( $ip, $where );
            my $max = $v == 4 ? 32 : 128;
            die "$where: bad prefix length in '$net'\n" if $len > $max;
            my $m = prefix_mask( $len, length $b );
            die "$where: '$net' has host bits set\n" if ( $b & $m ) ne $b;
            ( $first, $last ) = ( $b, $b | ~$m );
            if ( $v == 6 && in_alias($first) && in_alias($last) ) { $skipped++; next; }
            $tree->insert_network( $net, \%rec );
        }
        elsif ( $net =~ /^([^-]+)-([^-]+)$/ ) {
            my ( $s, $e ) = ( $1, $2 );
            my ( $v1, $b1 ) = parse_ip( $s, $where );
            my ( $v2, $b2 ) = parse_ip( $e, $where );
            die "$where: range mixes IPv4 and IPv6\n" if $v1 != $v2;
            die "$where: range end before start\n" if $b2 lt $b1;
            if ( $v1 == 6 && in_alias($b1) && in_alias($b2) ) { $skipped++; next; }
            $tree->insert_range( $s, $e, \%rec );
        }
        else {
            die "$where: bad network '$net' (CIDR or start-end)\n";
        }
        $rows++;
    }
    close $fh unless $file eq '-';
}

my $tmp = "$out.tmp$$";
open my $ofh, '>:raw', $tmp or die "$tmp: $!\n";
$tree->write_tree($ofh);
close $ofh or die "$tmp: $!\n";
rename $tmp, $out or die "$out: $!\n";
print STDERR "mmdb-from-csv: $out: $rows networks"
    . ( $skipped ? ", $skipped skipped inside IPv6 ranges aliased to IPv4" : '' ) . "\n";
