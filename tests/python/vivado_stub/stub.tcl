# Stub Vivado commands for tclsh (tests/python/test_vivado_tcl.py).
#
# A generated make_project.tcl is sourced with these procs in place of
# Vivado's. Each proc parses its arguments strictly (unknown options, missing
# or extra arguments are errors) and checks the block design as Vivado would
# when it is built: every cell, pin, interface pin and address segment the
# script names must exist when named (IP pins per the IP's configuration,
# module-reference pins from the Verilog shell's ports and X_INTERFACE_*
# attributes), nets have exactly one driver, interface nets join one master
# and one slave of the same protocol, every pin and interface is connected at
# most once, the AXI-lite windows are powers of two >= 4 KiB aligned to
# themselves, disjoint and inside the PS master port's aperture, and
# validate_bd_design finds every clock, reset and bus interface connected,
# one clock domain with one frequency. Any violation is an error whose
# message starts with "vivado_stub:".
#
# At the end, the state (cells, configs, nets, addresses, project) is
# written as JSON to $::env(SF_STUB_STATE) when that is set. launch_runs
# leaves placeholder bitstream/.hwh files where Vivado puts them, and the
# report commands write reports in Vivado's formats, so the script's copy
# steps run too.

namespace eval sf {
    variable st
    array set st {}
    variable ipdefs {xilinx.com:ip:processing_system7:5.5 xilinx.com:ip:zynq_ultra_ps_e:3.4
        xilinx.com:ip:zynq_ultra_ps_e:3.5 xilinx.com:ip:axi_interconnect:2.1 xilinx.com:ip:smartconnect:1.0
        xilinx.com:ip:proc_sys_reset:5.0}
    variable board_parts {tul.com.tw:pynq-z2:part0:1.0 www.digilentinc.com:pynq-z1:part0:1.0
        xilinx.com:zcu104:part0:1.1 xilinx.com:zcu102:part0:3.4 avnet.com:ultra96v1:part0:1.2
        xilinx.com:kv260_som:part0:1.3}
    if {[info exists ::env(SF_STUB_BOARD_PARTS)]} { set board_parts $::env(SF_STUB_BOARD_PARTS) }
    variable project ""          ;# dict: name dir part
    variable props               ;# project properties
    array set props {}
    variable files {}            ;# added files (normalized)
    variable ftype               ;# file -> type
    array set ftype {}
    variable modules             ;# module name -> dict (file params ports intfs)
    array set modules {}
    variable bd ""
    variable cells               ;# cell -> dict kind vlnv/ref config automation
    array set cells {}
    variable cell_order {}
    variable pinfreq             ;# cell/pin -> FREQ_HZ set on module pins
    array set pinfreq {}
    variable shellfreq           ;# module -> FREQ_HZ its clock declares
    array set shellfreq {}
    variable net_of              ;# cell/pin -> net id
    array set net_of {}
    variable nets                ;# net id -> list of pins
    array set nets {}
    variable nnets 0
    variable intf_peer           ;# cell/intf -> peer
    array set intf_peer {}
    variable addrs {}            ;# list of {seg offset range}
    variable auto_assigned 0
    variable validated 0
    variable saved 0
    variable wrapper 0
    variable runs_done 0
    variable opened 0
    variable log {}
}

# Every violation is remembered too, so one the script catches still fails the run (main.tcl).
proc sf::fail {msg} {
    lappend ::sf::failures $msg
    error "vivado_stub: $msg"
}
set ::sf::failures {}

# Options: spec is a dict option -> 0 (flag) or 1 (takes a value). Returns
# {opts positional}.
proc sf::opts {cmd spec argv} {
    set o [dict create]
    set pos {}
    for {set i 0} {$i < [llength $argv]} {incr i} {
        set a [lindex $argv $i]
        if {[string index $a 0] eq "-" && ![string is double -strict $a]} {
            if {![dict exists $spec $a]} { sf::fail "$cmd: unknown option $a" }
            if {[dict get $spec $a]} {
                incr i
                if {$i >= [llength $argv]} { sf::fail "$cmd: option $a needs a value" }
                dict set o $a [lindex $argv $i]
            } else {
                dict set o $a 1
            }
        } else {
            lappend pos $a
        }
    }
    return [list $o $pos]
}

proc sf::npos {cmd pos lo hi} {
    set n [llength $pos]
    if {$n < $lo || $n > $hi} { sf::fail "$cmd: expected $lo..$hi positional argument(s), got $n: $pos" }
}

proc sf::need_project {cmd} {
    variable project
    if {$project eq ""} { sf::fail "$cmd before create_project" }
}
proc sf::need_bd {cmd} {
    variable bd
    if {$bd eq ""} { sf::fail "$cmd before create_bd_design" }
}

# Objects are tagged strings "kind:name"; the getters return them and the
# commands that take objects check the kind.
proc sf::obj {kind name} { return "$kind:$name" }
proc sf::objs {cmd kind lst} {
    set out {}
    foreach x $lst {
        if {![string match "$kind:*" $x]} { sf::fail "$cmd: expected $kind object(s), got '$x'" }
        lappend out [string range $x [expr {[string length $kind] + 1}] end]
    }
    if {[llength $out] == 0} { sf::fail "$cmd: no $kind object given" }
    return $out
}

# ---- project ---------------------------------------------------------------

proc create_project {args} {
    lassign [sf::opts create_project {-force 0 -part 1 -in_memory 0} $args] o pos
    sf::npos create_project $pos 2 2
    if {![dict exists $o -part]} { sf::fail "create_project: no -part" }
    set ::sf::project [dict create name [lindex $pos 0] dir [file normalize [lindex $pos 1]] part [dict get $o -part]]
    file mkdir [lindex $pos 1]
    array set ::sf::props {BOARD_PART_REPO_PATHS {} board_part {} board_connections {} target_language VHDL}
    return [sf::obj project [lindex $pos 0]]
}
proc current_project {args} {
    sf::npos current_project $args 0 0
    sf::need_project current_project
    return [sf::obj project [dict get $::sf::project name]]
}
proc current_fileset {args} {
    sf::npos current_fileset $args 0 0
    return [sf::obj fileset sources_1]
}
proc get_param {args} {
    sf::npos get_param $args 1 1
    if {$args ne "board.repoPaths"} { sf::fail "get_param: unknown parameter $args" }
    return {}
}
proc set_param {args} {
    sf::npos set_param $args 2 2
    if {[lindex $args 0] ne "board.repoPaths"} { sf::fail "set_param: unknown parameter [lindex $args 0]" }
}
proc get_board_parts {args} {
    lassign [sf::opts get_board_parts {-quiet 0 -latest_file_version 0} $args] o pos
    sf::npos get_board_parts $pos 1 1
    set out {}
    foreach b $::sf::board_parts { if {[string match [lindex $pos 0] $b]} { lappend out $b } }
    if {$out eq {} && ![dict exists $o -quiet]} { sf::fail "get_board_parts: no board part matches [lindex $pos 0]" }
    return $out
}
proc get_ipdefs {args} {
    lassign [sf::opts get_ipdefs {-all 0 -quiet 0} $args] o pos
    sf::npos get_ipdefs $pos 1 1
    set out {}
    foreach v $::sf::ipdefs { if {[string match [lindex $pos 0] $v]} { lappend out $v } }
    return $out
}

# A Verilog source: module headers with parameters, ports and the
# X_INTERFACE_* attributes in front of each port (the shells' format:
# attributes on their own lines, one port per line).
proc sf::scan_verilog {path} {
    set f [open $path]
    set text [read $f]
    close $f
    set mod ""
    set attrs {}
    foreach line [split $text "\n"] {
        set line [string trim $line]
        if {[regexp {^module\s+(\w+)} $line -> m]} {
            set mod $m
            set ::sf::modules($mod) [dict create file $path params {} ports {} attrs {}]
            continue
        }
        if {$mod eq ""} continue
        if {[regexp {^parameter\s+(\w+)\s*=\s*([^,]+),?$} $line -> p v]} {
            dict lappend ::sf::modules($mod) params $p [string trim $v]
            continue
        }
        if {[regexp {^\(\*\s*(X_INTERFACE_\w+)\s*=\s*"([^"]*)"\s*\*\)$} $line -> k v]} {
            lappend attrs $k $v
            continue
        }
        if {[regexp {^(input|output)\s+wire\s+(\[[^\]]+\]\s*)?(\w+),?$} $line -> dir rng name]} {
            dict lappend ::sf::modules($mod) ports $name $dir
            dict set ::sf::modules($mod) attrs $name $attrs
            set attrs {}
            continue
        }
        if {[regexp {^\);} $line]} { set mod "" }
    }
}

proc add_files {args} {
    lassign [sf::opts add_files {-norecurse 0 -fileset 1} $args] o pos
    sf::need_project add_files
    sf::npos add_files $pos 1 1
    foreach p [lindex $pos 0] {
        set p [file normalize $p]
        if {![file isfile $p]} { sf::fail "add_files: $p does not exist" }
        if {[lsearch -exact $::sf::files $p] >= 0} { sf::fail "add_files: $p added twice" }
        lappend ::sf::files $p
        switch -- [file extension $p] {
            .v { set ::sf::ftype($p) Verilog }
            .sv { set ::sf::ftype($p) SystemVerilog }
            default { set ::sf::ftype($p) Data }
        }
        if {[file extension $p] in {.v .sv}} { sf::scan_verilog $p }
    }
}
proc get_files {args} {
    lassign [sf::opts get_files {-quiet 0 -of_objects 1} $args] o pos
    sf::npos get_files $pos 1 1
    set out {}
    foreach pat [lindex $pos 0] {
        set hit 0
        foreach f [concat $::sf::files [expr {$::sf::bd ne "" ? [list "$::sf::bd.bd"] : {}}]] {
            if {[string match $pat $f] || [string match $pat [file tail $f]]} { lappend out [sf::obj file $f]; set hit 1 }
        }
        if {!$hit} { sf::fail "get_files: no file matches $pat" }
    }
    return $out
}
proc update_compile_order {args} {
    lassign [sf::opts update_compile_order {-fileset 1} $args] o pos
    sf::npos update_compile_order $pos 0 0
    if {[dict get $o -fileset] ne "sources_1"} { sf::fail "update_compile_order: fileset [dict get $o -fileset]" }
}

# ---- IP catalogue ---------------------------------------------------------------
# Per IP: config defaults, legal CONFIG names with a value check, and the
# pins/interfaces a configuration has. A pin is {dir kind required}: dir I/O,
# kind clk/rst/other; required inputs must be connected at validation.

proc sf::ipname {vlnv} { return [lindex [split $vlnv :] 2] }

proc sf::ip_defaults {ip} {
    switch -- $ip {
        processing_system7 { return {PCW_USE_M_AXI_GP0 0 PCW_USE_S_AXI_HP0 0 PCW_S_AXI_HP0_DATA_WIDTH 64
            PCW_EN_CLK0_PORT 1 PCW_EN_RST0_PORT 1 PCW_FPGA0_PERIPHERAL_FREQMHZ 50} }
        zynq_ultra_ps_e { return {PSU__USE__M_AXI_GP0 1 PSU__USE__M_AXI_GP1 1 PSU__USE__M_AXI_GP2 0
            PSU__USE__S_AXI_GP2 0 PSU__SAXIGP2__DATA_WIDTH 128 PSU__FPGA_PL0_ENABLE 1 PSU__OVERRIDE__BASIC_CLOCK 1
            PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ 100} }
        axi_interconnect { return {NUM_SI 1 NUM_MI 2} }
        smartconnect { return {NUM_SI 1 NUM_MI 1 NUM_CLKS 1} }
        proc_sys_reset { return {C_EXT_RST_WIDTH 4 C_AUX_RST_WIDTH 4} }
    }
    sf::fail "no such IP $ip"
}

proc sf::check_config {ip key val} {
    set bool {PCW_USE_M_AXI_GP0 PCW_USE_S_AXI_HP0 PCW_EN_CLK0_PORT PCW_EN_RST0_PORT PSU__USE__M_AXI_GP0
        PSU__USE__M_AXI_GP1 PSU__USE__M_AXI_GP2 PSU__USE__S_AXI_GP2 PSU__FPGA_PL0_ENABLE PSU__OVERRIDE__BASIC_CLOCK}
    if {![dict exists [sf::ip_defaults $ip] $key]} { sf::fail "$ip has no parameter CONFIG.$key" }
    if {$key in $bool} {
        if {$val ni {0 1}} { sf::fail "$ip CONFIG.$key = '$val' is not 0/1" }
    } elseif {[string match *FREQMHZ $key]} {
        if {![string is double -strict $val] || $val <= 0 || $val > 400} { sf::fail "$ip CONFIG.$key = '$val'" }
    } elseif {[string match *DATA_WIDTH $key]} {
        if {$val ni {32 64 128}} { sf::fail "$ip CONFIG.$key = '$val'" }
    } elseif {$key in {NUM_SI NUM_MI}} {
        set hi [expr {$ip eq "axi_interconnect" && $key eq "NUM_SI" ? 16 : ($ip eq "smartconnect" && $key eq "NUM_MI" ? 16 : 64)}]
        if {![string is integer -strict $val] || $val < 1 || $val > $hi} { sf::fail "$ip CONFIG.$key = '$val' not in 1..$hi" }
    }
}

# pins: dict name -> {dir kind required}; intfs: dict name -> {mode proto}
proc sf::ip_ports {cell} {
    set c $::sf::cells($cell)
    set ip [sf::ipname [dict get $c vlnv]]
    set cf [dict get $c config]
    set pins [dict create]
    set intfs [dict create]
    switch -- $ip {
        processing_system7 {
            if {[dict get $cf PCW_EN_CLK0_PORT]} { dict set pins FCLK_CLK0 {O clk 0} }
            if {[dict get $cf PCW_EN_RST0_PORT]} { dict set pins FCLK_RESET0_N {O rst 0} }
            if {[dict get $cf PCW_USE_M_AXI_GP0]} {
                dict set pins M_AXI_GP0_ACLK {I clk 1}
                dict set intfs M_AXI_GP0 {Master aximm}
            }
            if {[dict get $cf PCW_USE_S_AXI_HP0]} {
                dict set pins S_AXI_HP0_ACLK {I clk 1}
                dict set intfs S_AXI_HP0 {Slave aximm}
            }
            dict set intfs DDR {Master ddr}
            dict set intfs FIXED_IO {Master fixed_io}
        }
        zynq_ultra_ps_e {
            if {[dict get $cf PSU__FPGA_PL0_ENABLE]} { dict set pins pl_clk0 {O clk 0}; dict set pins pl_resetn0 {O rst 0} }
            foreach {k pin intf} {PSU__USE__M_AXI_GP0 maxihpm0_fpd_aclk M_AXI_HPM0_FPD PSU__USE__M_AXI_GP1
                    maxihpm1_fpd_aclk M_AXI_HPM1_FPD PSU__USE__M_AXI_GP2 maxihpm0_lpd_aclk M_AXI_HPM0_LPD} {
                if {[dict get $cf $k]} { dict set pins $pin {I clk 1}; dict set intfs $intf {Master aximm} }
            }
            if {[dict get $cf PSU__USE__S_AXI_GP2]} {
                dict set pins saxihp0_fpd_aclk {I clk 1}
                dict set intfs S_AXI_HP0_FPD {Slave aximm}
            }
        }
        axi_interconnect {
            dict set pins ACLK {I clk 1}
            dict set pins ARESETN {I rst 1}
            foreach {side n mode} [list S [dict get $cf NUM_SI] Slave M [dict get $cf NUM_MI] Master] {
                for {set k 0} {$k < $n} {incr k} {
                    set p [format %s%02d $side $k]
                    dict set pins ${p}_ACLK {I clk 1}
                    dict set pins ${p}_ARESETN {I rst 1}
                    dict set intfs ${p}_AXI [list $mode aximm]
                }
            }
        }
        smartconnect {
            dict set pins aclk {I clk 1}
            dict set pins aresetn {I rst 1}
            for {set k 0} {$k < [dict get $cf NUM_SI]} {incr k} { dict set intfs [format S%02d_AXI $k] {Slave aximm} }
            for {set k 0} {$k < [dict get $cf NUM_MI]} {incr k} { dict set intfs [format M%02d_AXI $k] {Master aximm} }
        }
        proc_sys_reset {
            dict set pins slowest_sync_clk {I clk 1}
            dict set pins ext_reset_in {I rst 1}
            dict set pins aux_reset_in {I rst 0}
            dict set pins mb_debug_sys_rst {I rst 0}
            dict set pins dcm_locked {I other 0}
            foreach p {mb_reset bus_struct_reset peripheral_reset interconnect_aresetn peripheral_aresetn} {
                dict set pins $p {O rst 0}
            }
        }
    }
    return [list $pins $intfs]
}

# Module references: pins are the ports outside bus interfaces, interfaces
# come from X_INTERFACE_INFO (mode from the direction of the address/data
# signals, as Vivado infers it).
proc sf::module_ports {ref} {
    set m $::sf::modules($ref)
    set pins [dict create]
    set intfs [dict create]
    set sigs [dict create]
    set assoc ""
    foreach {name dir} [dict get $m ports] {
        set info ""
        set param ""
        foreach {k v} [dict get $m attrs $name] {
            if {$k eq "X_INTERFACE_INFO"} { set info $v } else { set param $v }
        }
        if {$info eq ""} {
            dict set pins $name [list [expr {$dir eq "input" ? "I" : "O"}] other 0]
            continue
        }
        lassign $info vlnv intf sig
        switch -- $vlnv {
            xilinx.com:signal:clock:1.0 {
                if {$dir ne "input" || $sig ne "CLK"} { sf::fail "$ref: clock $name must be an input CLK" }
                dict set pins $name {I clk 1}
                if {![regexp {ASSOCIATED_BUSIF ([\w:]+)} $param -> assoc]} { sf::fail "$ref: clock $name has no ASSOCIATED_BUSIF" }
                if {![regexp {ASSOCIATED_RESET (\w+)} $param -> r]} { sf::fail "$ref: clock $name has no ASSOCIATED_RESET" }
                if {[regexp {FREQ_HZ (\d+)} $param -> hz]} { dict set pins $name {I clk 1} ; set ::sf::shellfreq($ref) $hz }
            }
            xilinx.com:signal:reset:1.0 {
                if {$dir ne "input" || $sig ne "RST"} { sf::fail "$ref: reset $name must be an input RST" }
                if {![string match "*POLARITY ACTIVE_LOW*" $param]} { sf::fail "$ref: reset $name is not declared ACTIVE_LOW" }
                dict set pins $name {I rst 1}
            }
            xilinx.com:signal:interrupt:1.0 {
                dict set pins $name [list [expr {$dir eq "input" ? "I" : "O"}] intr 0]
            }
            xilinx.com:interface:aximm:1.0 - xilinx.com:interface:axis:1.0 {
                if {[dict exists $sigs $intf $sig]} { sf::fail "$ref: $intf.$sig mapped twice" }
                dict set sigs $intf $sig $dir
                dict set intfs $intf [list ? [expr {[string match *aximm* $vlnv] ? "aximm" : "axis"}]]
                if {$param ne "" && ![string match "XIL_INTERFACENAME $intf*" $param]} {
                    sf::fail "$ref: parameters of $name name another interface: $param"
                }
            }
            default { sf::fail "$ref: unknown interface VLNV $vlnv on $name" }
        }
    }
    dict for {intf d} $intfs {
        set proto [lindex $d 1]
        set s [dict get $sigs $intf]
        if {$proto eq "axis"} {
            foreach need {TDATA TVALID TREADY} {
                if {![dict exists $s $need]} { sf::fail "$ref: AXI-stream $intf has no $need" }
            }
            set mode [expr {[dict get $s TDATA] eq "output" ? "Master" : "Slave"}]
            if {[dict get $s TREADY] eq [dict get $s TDATA]} { sf::fail "$ref: $intf TREADY has TDATA's direction" }
        } else {
            set rd [dict exists $s ARADDR]
            set wr [dict exists $s AWADDR]
            if {!$rd && !$wr} { sf::fail "$ref: AXI $intf has neither ARADDR nor AWADDR" }
            set need {}
            if {$rd} { lappend need ARADDR ARVALID ARREADY RDATA RVALID RREADY }
            if {$wr} { lappend need AWADDR AWVALID AWREADY WDATA WVALID WREADY BVALID BREADY }
            foreach n $need { if {![dict exists $s $n]} { sf::fail "$ref: AXI $intf has no $n" } }
            set a [expr {$rd ? "ARADDR" : "AWADDR"}]
            set mode [expr {[dict get $s $a] eq "output" ? "Master" : "Slave"}]
            foreach {n d} $s {
                set in [expr {$n in {ARREADY RDATA RRESP RLAST RVALID AWREADY WREADY BRESP BVALID RID BID}}]
                set ok [expr {($mode eq "Master") == ($in ? $d eq "input" : $d eq "output")}]
                if {!$ok} { sf::fail "$ref: AXI $intf.$n has the wrong direction for a [string tolower $mode]" }
            }
        }
        dict set intfs $intf [list $mode $proto]
    }
    if {[dict size $intfs] > 0} {
        if {$assoc eq ""} { sf::fail "$ref: bus interfaces but no clock with ASSOCIATED_BUSIF" }
        if {[lsort [split $assoc :]] ne [lsort [dict keys $intfs]]} {
            sf::fail "$ref: clock ASSOCIATED_BUSIF '$assoc' is not the interface list [dict keys $intfs]"
        }
    }
    return [list $pins $intfs]
}

proc sf::ports {cell} {
    if {![info exists ::sf::cells($cell)]} { sf::fail "no cell $cell" }
    set c $::sf::cells($cell)
    if {[dict get $c kind] eq "ip"} { return [sf::ip_ports $cell] }
    return [sf::module_ports [dict get $c ref]]
}

# ---- block design ---------------------------------------------------------------

proc create_bd_design {args} {
    sf::need_project create_bd_design
    sf::npos create_bd_design $args 1 1
    if {$::sf::bd ne ""} { sf::fail "create_bd_design: a block design exists already" }
    set ::sf::bd [lindex $args 0]
}

proc create_bd_cell {args} {
    sf::need_bd create_bd_cell
    lassign [sf::opts create_bd_cell {-type 1 -vlnv 1 -reference 1} $args] o pos
    sf::npos create_bd_cell $pos 1 1
    set name [lindex $pos 0]
    if {![regexp {^[A-Za-z][A-Za-z0-9_]*$} $name]} { sf::fail "create_bd_cell: bad cell name '$name'" }
    if {[info exists ::sf::cells($name)]} { sf::fail "create_bd_cell: cell $name exists already" }
    switch -- [dict get $o -type] {
        ip {
            set v [dict get $o -vlnv]
            if {$v ni $::sf::ipdefs} { sf::fail "create_bd_cell: no IP $v in the catalogue" }
            set ::sf::cells($name) [dict create kind ip vlnv $v config [sf::ip_defaults [sf::ipname $v]] automation {}]
        }
        module {
            set r [dict get $o -reference]
            if {![info exists ::sf::modules($r)]} { sf::fail "create_bd_cell: module $r is in no added source" }
            set f [dict get $::sf::modules($r) file]
            if {$::sf::ftype($f) ne "Verilog"} {
                sf::fail "create_bd_cell: module $r is in a $::sf::ftype($f) file; a module reference needs a Verilog top"
            }
            set cfg [dict create]
            foreach {p v} [dict get $::sf::modules($r) params] { dict set cfg $p $v }
            set ::sf::cells($name) [dict create kind module ref $r config $cfg]
            sf::module_ports $r
        }
        default { sf::fail "create_bd_cell: -type [dict get $o -type]" }
    }
    lappend ::sf::cell_order $name
    return [sf::obj cell $name]
}

proc get_bd_cells {args} {
    sf::need_bd get_bd_cells
    lassign [sf::opts get_bd_cells {-quiet 0} $args] o pos
    sf::npos get_bd_cells $pos 1 1
    set out {}
    foreach n [lindex $pos 0] {
        set n [string trimleft $n /]
        if {![info exists ::sf::cells($n)]} { sf::fail "get_bd_cells: no cell $n" }
        lappend out [sf::obj cell $n]
    }
    return $out
}

proc sf::split_path {cmd p} {
    set p [string trimleft $p /]
    set parts [split $p /]
    if {[llength $parts] != 2} { sf::fail "$cmd: '$p' is not cell/pin" }
    return $parts
}

proc get_bd_pins {args} {
    sf::need_bd get_bd_pins
    sf::npos get_bd_pins $args 1 1
    set out {}
    foreach p [lindex $args 0] {
        lassign [sf::split_path get_bd_pins $p] cell pin
        lassign [sf::ports $cell] pins intfs
        if {![dict exists $pins $pin]} { sf::fail "get_bd_pins: cell $cell has no pin $pin (it has: [dict keys $pins])" }
        lappend out [sf::obj pin $cell/$pin]
    }
    return $out
}

proc get_bd_intf_pins {args} {
    sf::need_bd get_bd_intf_pins
    sf::npos get_bd_intf_pins $args 1 1
    set out {}
    foreach p [lindex $args 0] {
        lassign [sf::split_path get_bd_intf_pins $p] cell intf
        lassign [sf::ports $cell] pins intfs
        if {![dict exists $intfs $intf]} {
            sf::fail "get_bd_intf_pins: cell $cell has no interface $intf (it has: [dict keys $intfs])"
        }
        lappend out [sf::obj intf $cell/$intf]
    }
    return $out
}

proc apply_bd_automation {args} {
    lassign [sf::opts apply_bd_automation {-rule 1 -config 1 -dict 1} $args] o pos
    sf::npos apply_bd_automation $pos 1 1
    set cell [sf::objs apply_bd_automation cell [lindex $pos 0]]
    set c $::sf::cells($cell)
    set ip [sf::ipname [dict get $c vlnv]]
    set cfg [dict get $o -config]
    if {[catch {dict size $cfg}]} { sf::fail "apply_bd_automation: -config is not a key/value list: $cfg" }
    switch -- [dict get $o -rule] {
        xilinx.com:bd_rule:processing_system7 {
            if {$ip ne "processing_system7"} { sf::fail "apply_bd_automation: processing_system7 rule on $ip" }
            foreach k [dict keys $cfg] {
                if {$k ni {make_external apply_board_preset Master Slave}} { sf::fail "apply_bd_automation: key $k" }
            }
            if {![dict exists $cfg make_external] || [lsort [split [string map {" " ""} [dict get $cfg make_external]] ,]] ne {DDR FIXED_IO}} {
                sf::fail "apply_bd_automation: DDR and FIXED_IO must be made external"
            }
        }
        xilinx.com:bd_rule:zynq_ultra_ps_e {
            if {$ip ne "zynq_ultra_ps_e"} { sf::fail "apply_bd_automation: zynq_ultra_ps_e rule on $ip" }
            foreach k [dict keys $cfg] { if {$k ni {apply_board_preset}} { sf::fail "apply_bd_automation: key $k" } }
        }
        default { sf::fail "apply_bd_automation: unknown rule [dict get $o -rule]" }
    }
    if {![dict exists $cfg apply_board_preset] || [dict get $cfg apply_board_preset] ne "1"} {
        sf::fail "apply_bd_automation: the board preset is not applied"
    }
    if {$::sf::props(board_part) eq ""} { sf::fail "apply_bd_automation: board preset without a board_part" }
    dict set c automation $cfg
    set ::sf::cells($cell) $c
}

proc set_property {args} {
    lassign [sf::opts set_property {-dict 1 -name 1 -value 1 -objects 1} $args] o pos
    if {[dict exists $o -dict]} {
        sf::npos set_property $pos 1 1
        set kv [dict get $o -dict]
        set objs [lindex $pos 0]
    } else {
        sf::npos set_property $pos 3 3
        set kv [list [lindex $pos 0] [lindex $pos 1]]
        set objs [lindex $pos 2]
    }
    if {[llength $kv] % 2} { sf::fail "set_property: odd -dict list" }
    set kind [lindex [split [lindex $objs 0] :] 0]
    foreach {k v} $kv {
        switch -- $kind {
            project {
                if {$k ni {board_part board_connections target_language BOARD_PART_REPO_PATHS}} {
                    sf::fail "set_property: project property $k"
                }
                if {$k eq "board_part" && $v ni $::sf::board_parts} { sf::fail "set_property: board part '$v' not installed" }
                if {$k eq "target_language" && $v ni {Verilog VHDL}} { sf::fail "set_property: target_language $v" }
                set ::sf::props($k) $v
            }
            file {
                foreach f [sf::objs set_property file $objs] {
                    if {$k eq "file_type"} {
                        if {$v ni {Verilog SystemVerilog}} { sf::fail "set_property: file_type $v" }
                        set ::sf::ftype($f) $v
                    } elseif {$k eq "SYNTH_CHECKPOINT_MODE"} {
                        if {$f ne "$::sf::bd.bd" || $v ni {Hierarchical Singular None}} { sf::fail "set_property: $k $v on $f" }
                    } else { sf::fail "set_property: file property $k" }
                }
            }
            cell {
                if {![string match CONFIG.* $k]} { sf::fail "set_property: cell property $k" }
                set p [string range $k 7 end]
                foreach cell [sf::objs set_property cell $objs] {
                    set c $::sf::cells($cell)
                    if {[dict get $c kind] eq "ip"} {
                        sf::check_config [sf::ipname [dict get $c vlnv]] $p $v
                        if {[string match "processing_system7" [sf::ipname [dict get $c vlnv]]] && [dict get $c automation] eq {}} {
                            sf::fail "set_property: configure $cell after its board preset (apply_bd_automation)"
                        }
                    } else {
                        if {![dict exists [dict get $c config] $p]} { sf::fail "set_property: module cell $cell has no parameter $p" }
                        if {![string is integer -strict $v]} { sf::fail "set_property: $cell CONFIG.$p = '$v' is not an integer" }
                    }
                    dict set c config $p $v
                    set ::sf::cells($cell) $c
                }
            }
            pin {
                if {$k ne "CONFIG.FREQ_HZ"} { sf::fail "set_property: pin property $k" }
                foreach pin [sf::objs set_property pin $objs] {
                    lassign [split $pin /] cell pn
                    if {[dict get $::sf::cells($cell) kind] ne "module"} { sf::fail "set_property: FREQ_HZ on IP pin $pin" }
                    lassign [sf::ports $cell] pins intfs
                    if {[lindex [dict get $pins $pn] 1] ne "clk"} { sf::fail "set_property: FREQ_HZ on non-clock $pin" }
                    if {![string is double -strict $v]} { sf::fail "set_property: FREQ_HZ '$v'" }
                    set ::sf::pinfreq($pin) $v
                }
            }
            default { sf::fail "set_property: cannot set $k on '$objs'" }
        }
    }
}

proc sf::ps_cell {} {
    foreach c $::sf::cell_order {
        set d $::sf::cells($c)
        if {[dict get $d kind] eq "ip" && [sf::ipname [dict get $d vlnv]] in {processing_system7 zynq_ultra_ps_e}} { return $c }
    }
    sf::fail "no processing system in the design"
}

proc sf::pin_freq {pin} {
    lassign [split $pin /] cell pn
    set c $::sf::cells($cell)
    if {[dict get $c kind] eq "module"} {
        # set_property on the pin, else the shell's X_INTERFACE_PARAMETER, else Vivado's default
        if {[info exists ::sf::pinfreq($pin)]} { return $::sf::pinfreq($pin) }
        set ref [dict get $c ref]
        return [expr {[info exists ::sf::shellfreq($ref)] ? $::sf::shellfreq($ref) : 100000000}]
    }
    set cf [dict get $c config]
    switch -- $pn {
        FCLK_CLK0 { return [expr {round([dict get $cf PCW_FPGA0_PERIPHERAL_FREQMHZ] * 1e6)}] }
        pl_clk0 { return [expr {round([dict get $cf PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ] * 1e6)}] }
    }
    return ""
}

proc get_property {args} {
    lassign [sf::opts get_property {-quiet 0} $args] o pos
    sf::npos get_property $pos 2 2
    lassign $pos k obj
    set kind [lindex [split $obj :] 0]
    switch -- $kind {
        project { if {$k ne "BOARD_PART_REPO_PATHS"} { sf::fail "get_property: project $k" }; return $::sf::props($k) }
        pin {
            if {$k ne "CONFIG.FREQ_HZ"} { sf::fail "get_property: pin $k" }
            set f [sf::pin_freq [sf::objs get_property pin $obj]]
            if {$f eq ""} { sf::fail "get_property: $obj has no FREQ_HZ" }
            return $f
        }
        run {
            if {$k ne "PROGRESS"} { sf::fail "get_property: run $k" }
            return [expr {$::sf::runs_done ? "100%" : "0%"}]
        }
    }
    sf::fail "get_property: $k of '$obj'"
}

proc sf::connect_pin {pin id} {
    if {[info exists ::sf::net_of($pin)]} { sf::fail "connect_bd_net: $pin is on a net already" }
    set ::sf::net_of($pin) $id
    lappend ::sf::nets($id) $pin
}

proc connect_bd_net {args} {
    sf::need_bd connect_bd_net
    lassign [sf::opts connect_bd_net {-net 1} $args] o pos
    if {[llength $pos] < 2} { sf::fail "connect_bd_net: fewer than two pins" }
    set pins {}
    foreach p $pos { lappend pins {*}[sf::objs connect_bd_net pin $p] }
    set id [incr ::sf::nnets]
    set drivers {}
    set kinds {}
    foreach pin $pins {
        lassign [split $pin /] cell pn
        lassign [sf::ports $cell] pd intfs
        lassign [dict get $pd $pn] dir kind
        if {$dir eq "O"} { lappend drivers $pin }
        lappend kinds $kind
        sf::connect_pin $pin $id
    }
    if {[llength $drivers] != 1} { sf::fail "connect_bd_net: net {$pins} has [llength $drivers] drivers ($drivers)" }
    if {[llength [lsort -unique $kinds]] != 1 && [lsort -unique $kinds] ne {other rst}} {
        sf::fail "connect_bd_net: net {$pins} mixes [lsort -unique $kinds] pins"
    }
}

proc connect_bd_intf_net {args} {
    sf::need_bd connect_bd_intf_net
    lassign [sf::opts connect_bd_intf_net {-boundary_type 1 -intf_net 1} $args] o pos
    sf::npos connect_bd_intf_net $pos 2 2
    set a [sf::objs connect_bd_intf_net intf [lindex $pos 0]]
    set b [sf::objs connect_bd_intf_net intf [lindex $pos 1]]
    set modes {}
    set protos {}
    foreach x [list $a $b] {
        if {[info exists ::sf::intf_peer($x)]} { sf::fail "connect_bd_intf_net: $x is connected already" }
        lassign [split $x /] cell intf
        lassign [sf::ports $cell] pins intfs
        lassign [dict get $intfs $intf] mode proto
        lappend modes $mode
        lappend protos $proto
    }
    if {[lsort $modes] ne {Master Slave}} { sf::fail "connect_bd_intf_net: $a and $b are $modes (need a master and a slave)" }
    if {[lindex $protos 0] ne [lindex $protos 1]} { sf::fail "connect_bd_intf_net: $a is [lindex $protos 0], $b is [lindex $protos 1]" }
    set ::sf::intf_peer($a) $b
    set ::sf::intf_peer($b) $a
}

# Address segments: module AXI slaves have <cell>/<intf>/reg0; the PS slave
# port has its DDR segment.
proc sf::all_segs {} {
    set out {}
    foreach c $::sf::cell_order {
        lassign [sf::ports $c] pins intfs
        dict for {i d} $intfs {
            if {[lindex $d 1] ne "aximm" || [lindex $d 0] ne "Slave"} continue
            if {[dict get $::sf::cells($c) kind] eq "module"} { lappend out $c/$i/reg0 }
            if {$i eq "S_AXI_HP0"} { lappend out $c/$i/HP0_DDR_LOWOCM }
            if {$i eq "S_AXI_HP0_FPD"} { lappend out $c/$i/HP0_DDR_LOW }
        }
    }
    return $out
}
proc get_bd_addr_segs {args} {
    sf::need_bd get_bd_addr_segs
    sf::npos get_bd_addr_segs $args 1 1
    set out {}
    foreach s [sf::all_segs] { if {[string match [string trimleft [lindex $args 0] /] $s]} { lappend out [sf::obj seg $s] } }
    if {$out eq {}} { sf::fail "get_bd_addr_segs: no segment matches [lindex $args 0]" }
    return $out
}
proc get_bd_addr_spaces {args} {
    sf::npos get_bd_addr_spaces $args 1 1
    if {[string trimleft [lindex $args 0] /] ne "[sf::ps_cell]/Data"} { sf::fail "get_bd_addr_spaces: no space [lindex $args 0]" }
    return [sf::obj space [lindex $args 0]]
}

# The path from the PS master port to a slave interface: its peer is an
# axi_interconnect master port whose S00_AXI is driven by the PS master.
proc sf::ps_window {seg} {
    lassign [split $seg /] cell intf
    if {![info exists ::sf::intf_peer($cell/$intf)]} { sf::fail "assign_bd_address: $cell/$intf is not connected" }
    lassign [split $::sf::intf_peer($cell/$intf) /] ic icport
    set icd $::sf::cells($ic)
    if {[dict get $icd kind] ne "ip" || [sf::ipname [dict get $icd vlnv]] ne "axi_interconnect"} {
        sf::fail "assign_bd_address: $cell/$intf is not behind an AXI interconnect"
    }
    if {![info exists ::sf::intf_peer($ic/S00_AXI)]} { sf::fail "assign_bd_address: $ic/S00_AXI has no master" }
    set m [lindex [split $::sf::intf_peer($ic/S00_AXI) /] 1]
    switch -- $m {
        M_AXI_GP0 { return {0x40000000 0x40000000} }
        M_AXI_HPM0_FPD { return {0xA0000000 0x10000000} }
    }
    sf::fail "assign_bd_address: $ic is driven by $m, not a PS master port"
}

proc assign_bd_address {args} {
    sf::need_bd assign_bd_address
    lassign [sf::opts assign_bd_address {-offset 1 -range 1 -target_address_space 1 -force 0} $args] o pos
    if {[llength $pos] == 0} {
        if {[dict size $o]} { sf::fail "assign_bd_address: options without segments" }
        set ::sf::auto_assigned 1
        return
    }
    sf::npos assign_bd_address $pos 1 1
    if {![dict exists $o -offset] || ![dict exists $o -range]} { sf::fail "assign_bd_address: need -offset and -range" }
    set segs [sf::objs assign_bd_address seg [lindex $pos 0]]
    if {[llength $segs] != 1} { sf::fail "assign_bd_address: one segment per window, got $segs" }
    set off [expr {[dict get $o -offset] + 0}]
    set rng [expr {[dict get $o -range] + 0}]
    if {$rng < 4096 || ($rng & ($rng - 1))} { sf::fail "assign_bd_address: range $rng is not a power of two >= 4 KiB" }
    if {$off % $rng} { sf::fail "assign_bd_address: offset [format %#x $off] is not aligned to its range [format %#x $rng]" }
    lassign [sf::ps_window [lindex $segs 0]] lo size
    if {$off < $lo || $off + $rng > $lo + $size} { sf::fail "assign_bd_address: [format %#x $off] is outside the PS window" }
    foreach a $::sf::addrs {
        lassign $a s2 o2 r2
        if {$s2 eq [lindex $segs 0]} { sf::fail "assign_bd_address: $s2 assigned twice" }
        if {$off < $o2 + $r2 && $o2 < $off + $rng} { sf::fail "assign_bd_address: [lindex $segs 0] overlaps $s2" }
    }
    lappend ::sf::addrs [list [lindex $segs 0] $off $rng]
}

proc validate_bd_design {args} {
    sf::need_bd validate_bd_design
    sf::npos validate_bd_design $args 0 0
    set ps [sf::ps_cell]
    set clk_drivers {}
    foreach c $::sf::cell_order {
        lassign [sf::ports $c] pins intfs
        dict for {p d} $pins {
            lassign $d dir kind req
            if {$dir eq "I" && $req && ![info exists ::sf::net_of($c/$p)]} { sf::fail "validate_bd_design: $c/$p is not connected" }
            if {$dir eq "I" && $kind eq "clk" && [info exists ::sf::net_of($c/$p)]} {
                foreach q $::sf::nets($::sf::net_of($c/$p)) {
                    lassign [split $q /] qc qp
                    lassign [sf::ports $qc] qpins qi
                    if {[lindex [dict get $qpins $qp] 0] eq "O"} { lappend clk_drivers $q }
                }
            }
        }
        set is_module [expr {[dict get $::sf::cells($c) kind] eq "module"}]
        dict for {i d} $intfs {
            if {[lindex $d 1] ni {aximm axis}} continue
            if {($is_module || [string match {[SM][0-9][0-9]_AXI} $i] || $c eq $ps) && ![info exists ::sf::intf_peer($c/$i)]} {
                sf::fail "validate_bd_design: interface $c/$i is not connected"
            }
            if {$is_module && [lindex $d 1] eq "aximm" && [lindex $d 0] eq "Slave"} {
                set hit 0
                foreach a $::sf::addrs { if {[lindex $a 0] eq "$c/$i/reg0"} { set hit 1 } }
                if {!$hit} { sf::fail "validate_bd_design: $c/$i has no address" }
            }
        }
    }
    if {[llength [lsort -unique $clk_drivers]] != 1} { sf::fail "validate_bd_design: clocks come from [lsort -unique $clk_drivers], not one PS clock" }
    set drv [lindex $clk_drivers 0]
    if {[lindex [split $drv /] 0] ne $ps} { sf::fail "validate_bd_design: the clock comes from $drv, not the PS" }
    set f [sf::pin_freq $drv]
    foreach p $::sf::nets($::sf::net_of($drv)) {
        lassign [split $p /] c pn
        if {[dict get $::sf::cells($c) kind] eq "module" && [sf::pin_freq $p] != $f} {
            sf::fail "validate_bd_design: FREQ_HZ of $p is [sf::pin_freq $p], the clock runs at $f"
        }
    }
    if {!$::sf::auto_assigned} { sf::fail "validate_bd_design: the DMA masters' address spaces are not assigned" }
    set ::sf::validated 1
}
proc save_bd_design {args} {
    sf::npos save_bd_design $args 0 0
    if {!$::sf::validated} { sf::fail "save_bd_design before validate_bd_design" }
    set ::sf::saved 1
}
proc make_wrapper {args} {
    lassign [sf::opts make_wrapper {-files 1 -import 0 -fileset 1 -top 0} $args] o pos
    sf::npos make_wrapper $pos 0 0
    if {[sf::objs make_wrapper file [dict get $o -files]] ne "$::sf::bd.bd"} { sf::fail "make_wrapper: -files is not the block design" }
    if {!$::sf::saved} { sf::fail "make_wrapper before save_bd_design" }
    set ::sf::wrapper 1
}
proc get_runs {args} {
    sf::npos get_runs $args 1 1
    if {[lindex $args 0] ni {synth_1 impl_1}} { sf::fail "get_runs: no run [lindex $args 0]" }
    return [sf::obj run [lindex $args 0]]
}
proc launch_runs {args} {
    lassign [sf::opts launch_runs {-to_step 1 -jobs 1} $args] o pos
    sf::npos launch_runs $pos 1 1
    if {!$::sf::wrapper} { sf::fail "launch_runs before make_wrapper" }
    if {[lindex $pos 0] ne "impl_1" || [dict get $o -to_step] ne "write_bitstream"} { sf::fail "launch_runs: $args" }
    if {![string is integer -strict [dict get $o -jobs]]} { sf::fail "launch_runs: -jobs [dict get $o -jobs]" }
    set dir [dict get $::sf::project dir]
    set name [dict get $::sf::project name]
    file mkdir [file join $dir $name.runs impl_1] [file join $dir $name.gen sources_1 bd $::sf::bd hw_handoff]
    set f [open [file join $dir $name.runs impl_1 ${::sf::bd}_wrapper.bit] w]; puts $f "stub bitstream"; close $f
    set f [open [file join $dir $name.gen sources_1 bd $::sf::bd hw_handoff $::sf::bd.hwh] w]; puts $f "<stub/>"; close $f
    set ::sf::runs_done 1
}
proc wait_on_run {args} {
    sf::npos wait_on_run $args 1 1
    sf::objs wait_on_run run [lindex $args 0]
}
proc open_run {args} {
    sf::npos open_run $args 1 1
    if {!$::sf::runs_done} { sf::fail "open_run before launch_runs" }
    set ::sf::opened 1
}
proc report_utilization {args} {
    lassign [sf::opts report_utilization {-hierarchical 0 -hierarchical_depth 1 -format 1 -file 1} $args] o pos
    sf::npos report_utilization $pos 0 0
    if {!$::sf::opened} { sf::fail "report_utilization before open_run" }
    set f [open [dict get $o -file] w]
    puts $f {<?xml version="1.0" encoding="UTF-8"?>}
    puts $f {<RptDoc><section title="Utilization by Hierarchy"><table>}
    puts $f {<tablerow><tableheader contents="Instance"/><tableheader contents="Module"/><tableheader contents="Total LUTs"/><tableheader contents="Logic LUTs"/><tableheader contents="LUTRAMs"/><tableheader contents="SRLs"/><tableheader contents="FFs"/><tableheader contents="RAMB36"/><tableheader contents="RAMB18"/><tableheader contents="DSP48 Blocks"/></tablerow>}
    set rows [list "(top)" "top_i"]
    foreach c $::sf::cell_order { lappend rows "  $c" }
    set k 0
    foreach r $rows {
        incr k
        puts $f "<tablerow><tablecell contents=\"$r\"/><tablecell contents=\"m$k\"/><tablecell contents=\"[expr {$k*10}]\"/><tablecell contents=\"0\"/><tablecell contents=\"1\"/><tablecell contents=\"2\"/><tablecell contents=\"[expr {$k*20}]\"/><tablecell contents=\"1\"/><tablecell contents=\"0\"/><tablecell contents=\"$k\"/></tablerow>"
    }
    puts $f {</table></section></RptDoc>}
    close $f
}
proc report_timing_summary {args} {
    lassign [sf::opts report_timing_summary {-file 1} $args] o pos
    sf::npos report_timing_summary $pos 0 0
    if {!$::sf::opened} { sf::fail "report_timing_summary before open_run" }
    set f [open [dict get $o -file] w]
    puts $f "Design Timing Summary\n---------------------\n\n    WNS(ns)      TNS(ns)  TNS Failing Endpoints\n    -------      -------  ---------------------\n      1.234        0.000                      0\n"
    close $f
}
proc close_project {args} {
    sf::npos close_project $args 0 0
    set ::sf::project_closed 1
}

# Any other command is not Vivado's as far as this stub knows.
rename unknown sf::_tcl_unknown
proc unknown {args} { sf::fail "unknown command [lindex $args 0]" }

# ---- state as JSON -----------------------------------------------------------------

proc sf::js {s} { return "\"[string map {\\ \\\\ \" \\\" \n \\n} $s]\"" }
proc sf::jdict {d} {
    set parts {}
    dict for {k v} $d { lappend parts "[sf::js $k]: [sf::js $v]" }
    return "{[join $parts {, }]}"
}
proc sf::dump {path} {
    set cells {}
    foreach c $::sf::cell_order {
        set d $::sf::cells($c)
        set what [expr {[dict get $d kind] eq "ip" ? [dict get $d vlnv] : [dict get $d ref]}]
        lappend cells "[sf::js $c]: {\"kind\": [sf::js [dict get $d kind]], \"what\": [sf::js $what], \"config\": [sf::jdict [dict get $d config]]}"
    }
    set nets {}
    foreach id [lsort -integer [array names ::sf::nets]] {
        lappend nets "\[[join [lmap p $::sf::nets($id) {sf::js $p}] {, }]\]"
    }
    set inets {}
    foreach k [lsort [array names ::sf::intf_peer]] { lappend inets "[sf::js $k]: [sf::js $::sf::intf_peer($k)]" }
    set addrs {}
    foreach a $::sf::addrs { lappend addrs "\[[sf::js [lindex $a 0]], [lindex $a 1], [lindex $a 2]\]" }
    set freqs {}
    foreach k [lsort [array names ::sf::pinfreq]] { lappend freqs "[sf::js $k]: [sf::js $::sf::pinfreq($k)]" }
    set ft {}
    foreach k $::sf::files { lappend ft "[sf::js $k]: [sf::js $::sf::ftype($k)]" }
    set f [open $path w]
    puts $f "{\"project\": [sf::jdict $::sf::project], \"props\": [sf::jdict [array get ::sf::props]],"
    puts $f " \"bd\": [sf::js $::sf::bd], \"cells\": {[join $cells {, }]}, \"nets\": \[[join $nets {, }]\],"
    puts $f " \"intf_nets\": {[join $inets {, }]}, \"addrs\": \[[join $addrs {, }]\], \"pin_freq\": {[join $freqs {, }]},"
    puts $f " \"files\": {[join $ft {, }]}, \"validated\": $::sf::validated, \"runs_done\": $::sf::runs_done}"
    close $f
}
