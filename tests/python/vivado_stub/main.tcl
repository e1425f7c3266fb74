# tclsh main.tcl <script.tcl>: source stub.tcl, then the script as Vivado
# would (info script = its path), then dump the state (SF_STUB_STATE).
set here [file dirname [file normalize [info script]]]
source [file join $here stub.tcl]
set script [file normalize [lindex $argv 0]]
set argv {}
set argc 0
source $script
if {[llength $::sf::failures]} {
    puts stderr "vivado_stub: the script caught violation(s): [join $::sf::failures {; }]"
    exit 1
}
if {[info exists ::env(SF_STUB_STATE)]} { sf::dump $::env(SF_STUB_STATE) }
