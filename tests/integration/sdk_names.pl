#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# sdk_names.pl HEADER...: the names of the functions the SDK's headers
# declare, one a line (static inline functions, macros and the function
# pointers of the driver structs are not declarations of the SDK's
# functions: they are left out). For sdk_headers.test and sdk_symbols.test,
# which compare them with what the compiler and liotad's dynamic symbol
# table say. Relies on the headers' layout: comments, then one declaration
# per statement, no K&R or macro-generated prototypes.
use strict;
use warnings;

local $/;
my %seen;
for my $f (@ARGV) {
	open(my $h, '<', $f) or die "$f: $!\n";
	my $s = <$h>;
	$s =~ s{/\*.*?\*/}{ }gs;                                 # comments
	$s =~ s{//[^\n]*}{ }g;
	$s =~ s{^#ifdef __cplusplus\n.*?^#(?:else|endif)}{ }gms; # extern "C" {, }
	$s =~ s{^\s*#(?:[^\n]*\\\n)*[^\n]*}{ }gm;                # preprocessor lines
	$s =~ s/\{(?:[^{}]|\{[^{}]*\})*\}/;/gs;                  # struct, enum, inline bodies
	for my $decl (split /;/, $s) {
		next if $decl =~ /^\s*(?:static|typedef)\b/;
		next unless $decl =~ /\b(lt_\w+)\s*\(/;
		print "$1\n" unless $seen{$1}++;
	}
}
