# ipsec-triage collector, for call @@CALL_TEXT@@
#
# Collects the IPsec evidence the help desk's Tier 2 needs from this computer into one
# zip file. For Windows 10 and 11 and Windows Server 2016 and later (PowerShell 5.1);
# on Windows XP or Server 2003 use IPsec_Debug.vbs instead.
#
# Run it as a local administrator (right-click PowerShell, "Run as administrator"):
#
#     powershell -ExecutionPolicy Bypass -File .\@@FILE@@
#
# For the time of the test it turns on the IPsec and Filtering Platform audit
# subcategories (the audit policy is saved first and restored at the end, also when you
# press Ctrl-C). It sends nothing anywhere: send the zip it writes the way the help desk
# tells you (e-mail, upload page, share).
#
# -NoPrompt: do not wait for you to try the failing access; test the target itself.
# -OutDir FOLDER: where to write the zip (default: the current folder).

[CmdletBinding()]
param(
    [switch]$NoPrompt,
    [string]$OutDir = ''
)

$ErrorActionPreference = 'Continue'
$CallId = @@CALL@@
$Computer = @@COMPUTER@@
$Target = @@TARGET@@
$TargetAddress = @@ADDRESS@@
$TargetPort = @@PORT@@
$CollectorVersion = @@VERSION@@
$ZipName = @@ZIP@@

$identity = [Security.Principal.WindowsIdentity]::GetCurrent()
$principal = New-Object Security.Principal.WindowsPrincipal -ArgumentList $identity
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Host 'This collector must run as a local administrator. Open PowerShell with'
    Write-Host '"Run as administrator" and run:'
    Write-Host ('    powershell -ExecutionPolicy Bypass -File ' + $MyInvocation.MyCommand.Path)
    exit 2
}

if ($OutDir -eq '') {
    $OutDir = (Get-Location).Path
}
$Work = Join-Path $env:TEMP ('ipsec-triage-' + [guid]::NewGuid().ToString('N'))
$Pack = Join-Path $Work 'packet'
New-Item -ItemType Directory -Path (Join-Path $Pack 'evidence') -Force | Out-Null
$Utf8 = New-Object System.Text.UTF8Encoding -ArgumentList $false

$Changes = @(
@@CHANGES@@
)

$Tasks = @(
@@TASKS@@
)

function Invoke-Program {
    param(
        [string]$Exe,
        [string[]]$Arguments,
        [int]$Timeout
    )
    $result = @{ Output = ''; ExitCode = $null; TimedOut = $false; Error = $null }
    $found = Get-Command -Name $Exe -CommandType Application -ErrorAction SilentlyContinue
    if ($null -eq $found) {
        $result.Error = $Exe + ': not installed here'
        return $result
    }
    $info = New-Object System.Diagnostics.ProcessStartInfo
    $info.FileName = @($found)[0].Path
    $quoted = foreach ($a in $Arguments) {
        if ($a -match '[\s"]') { '"' + ($a -replace '"', '\"') + '"' } else { $a }
    }
    $info.Arguments = ($quoted -join ' ')
    $info.UseShellExecute = $false
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.CreateNoWindow = $true
    try {
        $process = [System.Diagnostics.Process]::Start($info)
    } catch {
        $result.Error = $Exe + ': ' + $_.Exception.Message
        return $result
    }
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    if ($process.WaitForExit($Timeout * 1000)) {
        $process.WaitForExit()
        $result.ExitCode = $process.ExitCode
    } else {
        $result.TimedOut = $true
        $result.Error = 'stopped after ' + $Timeout + ' s'
        try { $process.Kill() } catch { }
        $process.WaitForExit(5000) | Out-Null
    }
    $result.Output = $stdout.Result + $stderr.Result
    return $result
}

function Invoke-Code {
    param(
        [scriptblock]$Code,
        [int]$Timeout
    )
    $result = @{ Output = ''; ExitCode = 0; TimedOut = $false; Error = $null }
    $job = Start-Job -ScriptBlock $Code
    if (Wait-Job -Job $job -Timeout $Timeout) {
        $errors = @()
        $output = Receive-Job -Job $job -ErrorVariable errors -ErrorAction SilentlyContinue
        $result.Output = (@($output | ForEach-Object { [string]$_ }) -join [Environment]::NewLine)
        if ($job.State -eq 'Failed') {
            $result.ExitCode = 1
            $result.Error = 'failed: ' + ($job.ChildJobs[0].JobStateInfo.Reason.Message)
        } elseif ($errors.Count -gt 0) {
            $result.Error = ([string]$errors[0]).Substring(0, [Math]::Min(300, ([string]$errors[0]).Length))
        }
    } else {
        Stop-Job -Job $job
        $result.ExitCode = $null
        $result.TimedOut = $true
        $result.Error = 'stopped after ' + $Timeout + ' s'
    }
    Remove-Job -Job $job -Force
    return $result
}

function Get-Sha256 {
    param([string]$Path)
    return (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant()
}

$applied = New-Object System.Collections.ArrayList
$changeRecords = New-Object System.Collections.ArrayList
$files = New-Object System.Collections.ArrayList
try {
    foreach ($change in $Changes) {
        Write-Host ('Turning on: ' + $change.What)
        $exe = $change.Apply[0]
        $rest = @($change.Apply | Select-Object -Skip 1)
        $r = Invoke-Program -Exe $exe -Arguments $rest -Timeout 60
        $record = [ordered]@{ what = $change.What; undo = $change.UndoText; applied = ($r.ExitCode -eq 0); undone = $false; error = $r.Error }
        [void]$changeRecords.Add($record)
        if ($r.ExitCode -eq 0) {
            [void]$applied.Add(@($change, $record))
        } elseif ($null -eq $record.error) {
            $record.error = ($r.Output.Trim() + ' ').Substring(0, [Math]::Min(300, $r.Output.Trim().Length + 1)).Trim()
        }
    }

    if ($NoPrompt -or $Target -eq '') {
        if ($Target -ne '') {
            Write-Host ('Testing ' + $Target + ' port ' + $TargetPort + ' ...')
            Test-NetConnection -ComputerName $Target -Port $TargetPort -WarningAction SilentlyContinue | Out-Null
        }
    } else {
        Write-Host ''
        Write-Host ('Now try again what fails (for example open \\' + $Target + ' or the application).')
        Read-Host 'When it has failed again, press Enter here to collect' | Out-Null
    }

    foreach ($task in $Tasks) {
        Write-Host ('collecting: ' + $task.File)
        $started = Get-Date
        if ($task.ContainsKey('Code')) {
            $r = Invoke-Code -Code $task.Code -Timeout $task.Timeout
        } else {
            $r = Invoke-Program -Exe $task.Exe -Arguments $task.Arguments -Timeout $task.Timeout
        }
        $duration = [Math]::Round(((Get-Date) - $started).TotalSeconds, 3)
        $entry = [ordered]@{ file = $null; command = $task.Command; returncode = $r.ExitCode; duration = $duration; timeout_hit = $r.TimedOut; error = $r.Error; sha256 = $null; size = $null; collector = $task.Collector }
        if ($null -ne $r.Output -and -not ($r.Error -like '*: not installed here')) {
            $path = Join-Path $Pack $task.File
            [System.IO.File]::WriteAllText($path, [string]$r.Output, $Utf8)
            $entry.file = $task.File
            $entry.sha256 = Get-Sha256 -Path $path
            $entry.size = (Get-Item -LiteralPath $path).Length
        }
        [void]$files.Add($entry)
    }
} finally {
    for ($i = $applied.Count - 1; $i -ge 0; $i--) {
        $change = $applied[$i][0]
        $record = $applied[$i][1]
        if ($change.Undo.Count -eq 0) {
            $record.undone = $true
            continue
        }
        Write-Host ('Putting back: ' + $change.What)
        $r = Invoke-Program -Exe $change.Undo[0] -Arguments @($change.Undo | Select-Object -Skip 1) -Timeout 60
        $record.undone = ($r.ExitCode -eq 0)
        if ($r.ExitCode -ne 0) {
            $record.error = 'UNDO FAILED, undo by hand: ' + $change.UndoText
            Write-Host ('COULD NOT PUT BACK: ' + $change.What + '; by hand: ' + $change.UndoText)
        }
    }
}

$checksums = [ordered]@{}
foreach ($entry in $files) {
    if ($null -ne $entry.file) {
        $checksums[$entry.file] = $entry.sha256
    }
}
$errors = @(foreach ($entry in $files) { if ($null -ne $entry.error) { [ordered]@{ collector = $entry.collector; error = $entry.error } } })
$timeouts = @(foreach ($entry in $files) { if ($entry.timeout_hit) { $entry.command } })
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$manifest = [ordered]@{
    packet = $ZipName
    created = (Get-Date).ToString('yyyy-MM-ddTHH:mm:sszzz')
    call_id = $(if ($CallId -eq '') { $null } else { $CallId })
    computer = $Computer
    collected_on = $env:COMPUTERNAME
    destination = $(if ($Target -eq '') { $null } else { $Target })
    platform = 'win32'
    collector_version = $CollectorVersion
    windows_build = [string]$os.BuildNumber
    windows_version = [string]$os.Version
    administrator = $true
    redacted = $false
    files = @($files)
    changes = @($changeRecords)
    errors = $errors
    timeouts_hit = $timeouts
    checksums = $checksums
}
$json = ConvertTo-Json -InputObject $manifest -Depth 6
[System.IO.File]::WriteAllText((Join-Path $Pack @@MANIFEST@@), $json, $Utf8)

$zip = Join-Path $OutDir $ZipName
if (Test-Path -LiteralPath $zip) {
    Remove-Item -LiteralPath $zip -Force
}
Add-Type -AssemblyName System.IO.Compression.FileSystem
[System.IO.Compression.ZipFile]::CreateFromDirectory($Pack, $zip)
Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue
Write-Host ''
Write-Host ('Packet: ' + $zip)
Write-Host 'Nothing was sent. Send this file to the help desk the way they told you.'
