/**
 * The 113 rows of Kong's spec/fixtures/router_path_handling_tests.lua
 * (Kong/kong master, 22246ef28c), verbatim, and Kong's `expand()`: a row whose
 * strip_path or path_handling is a list stands for one case per value
 * (strip_path first, then path_handling). Kong's router_spec runs, for the
 * traditional_compatible flavor, only the v0 cases ("if flavor ==
 * 'traditional' or test.path_handling == 'v0'"): gw, like that flavor,
 * implements path_handling v0 only.
 */

type Strip = boolean | readonly boolean[];
type Handling = 'v0' | 'v1' | readonly ('v0' | 'v1')[];
/** service_path, route_path (null: the route matches on host), strip_path, path_handling, request_path, expected_path */
type Row = readonly [string, string | null, Strip, Handling, string, string];

export const PATH_HANDLING_ROWS: readonly Row[] = [
  ['/', '/', [false, true], ['v0', 'v1'], '/', '/'], // 1
  ['/', '/', [false, true], ['v0', 'v1'], '/route', '/route'], // 2
  ['/', '/', [false, true], ['v0', 'v1'], '/route/', '/route/'], // 3
  ['/', '/', [false, true], ['v0', 'v1'], '/routereq', '/routereq'], // 4
  ['/', '/', [false, true], ['v0', 'v1'], '/route/req', '/route/req'], // 5
  ['/', '/route', false, ['v0', 'v1'], '/route', '/route'], // 6
  ['/', '/route', false, ['v0', 'v1'], '/route/', '/route/'], // 7
  ['/', '/route', false, ['v0', 'v1'], '/routereq', '/routereq'], // 8
  ['/', '/route', true, ['v0', 'v1'], '/route', '/'], // 9
  ['/', '/route', true, ['v0', 'v1'], '/route/', '/'], // 10
  ['/', '/route', true, ['v0', 'v1'], '/routereq', '/req'], // 11
  ['/', '/route/', false, ['v0', 'v1'], '/route/', '/route/'], // 12
  ['/', '/route/', false, ['v0', 'v1'], '/route/req', '/route/req'], // 13
  ['/', '/route/', true, ['v0', 'v1'], '/route/', '/'], // 14
  ['/', '/route/', true, ['v0', 'v1'], '/route/req', '/req'], // 15
  ['/srv', '/rou', false, 'v0', '/roureq', '/srv/roureq'], // 16
  ['/srv', '/rou', false, 'v1', '/roureq', '/srvroureq'], // 17
  ['/srv', '/rou', true, 'v0', '/roureq', '/srv/req'], // 18
  ['/srv', '/rou', true, 'v1', '/roureq', '/srvreq'], // 19
  ['/srv/', '/rou', false, ['v0', 'v1'], '/rou', '/srv/rou'], // 20
  ['/srv/', '/rou', true, 'v0', '/rou', '/srv'], // 21
  ['/srv/', '/rou', true, 'v1', '/rou', '/srv/'], // 22
  ['/service', '/', [false, true], ['v0', 'v1'], '/', '/service'], // 23
  ['/service', '/', [false, true], 'v0', '/route', '/service/route'], // 24
  ['/service', '/', [false, true], 'v1', '/route', '/serviceroute'], // 25
  ['/service', '/', [false, true], 'v0', '/route/', '/service/route/'], // 26
  ['/service', '/', [false, true], 'v1', '/route/', '/serviceroute/'], // 27
  ['/service', '/', [false, true], 'v0', '/routereq', '/service/routereq'], // 28
  ['/service', '/', [false, true], 'v1', '/routereq', '/serviceroutereq'], // 29
  ['/service', '/', [false, true], 'v0', '/route/req', '/service/route/req'], // 30
  ['/service', '/', [false, true], 'v1', '/route/req', '/serviceroute/req'], // 31
  ['/service', '/route', false, 'v0', '/route', '/service/route'], // 32
  ['/service', '/route', false, 'v1', '/route', '/serviceroute'], // 33
  ['/service', '/route', false, 'v0', '/route/', '/service/route/'], // 34
  ['/service', '/route', false, 'v1', '/route/', '/serviceroute/'], // 35
  ['/service', '/route', false, 'v0', '/routereq', '/service/routereq'], // 36
  ['/service', '/route', false, 'v1', '/routereq', '/serviceroutereq'], // 37
  ['/service', '/route', true, ['v0', 'v1'], '/route', '/service'], // 38
  ['/service', '/route', true, ['v0', 'v1'], '/route/', '/service/'], // 39
  ['/service', '/route', true, 'v0', '/routereq', '/service/req'], // 40
  ['/service', '/route', true, 'v1', '/routereq', '/servicereq'], // 41
  ['/service', '/route/', false, 'v0', '/route/', '/service/route/'], // 42
  ['/service', '/route/', false, 'v1', '/route/', '/serviceroute/'], // 43
  ['/service', '/route/', false, 'v0', '/route/req', '/service/route/req'], // 44
  ['/service', '/route/', false, 'v1', '/route/req', '/serviceroute/req'], // 45
  ['/service', '/route/', true, 'v0', '/route/', '/service/'], // 46
  ['/service', '/route/', true, 'v1', '/route/', '/service'], // 47
  ['/service', '/route/', true, 'v0', '/route/req', '/service/req'], // 48
  ['/service', '/route/', true, 'v1', '/route/req', '/servicereq'], // 49
  ['/service/', '/', [false, true], 'v0', '/route/', '/service/route/'], // 50
  ['/service/', '/', [false, true], 'v1', '/route/', '/service/route/'], // 51
  ['/service/', '/', [false, true], ['v0', 'v1'], '/', '/service/'], // 52
  ['/service/', '/', [false, true], ['v0', 'v1'], '/route', '/service/route'], // 53
  ['/service/', '/', [false, true], ['v0', 'v1'], '/routereq', '/service/routereq'], // 54
  ['/service/', '/', [false, true], ['v0', 'v1'], '/route/req', '/service/route/req'], // 55
  ['/service/', '/route', false, ['v0', 'v1'], '/route', '/service/route'], // 56
  ['/service/', '/route', false, ['v0', 'v1'], '/route/', '/service/route/'], // 57
  ['/service/', '/route', false, ['v0', 'v1'], '/routereq', '/service/routereq'], // 58
  ['/service/', '/route', true, 'v0', '/route', '/service'], // 59
  ['/service/', '/route', true, 'v1', '/route', '/service/'], // 60
  ['/service/', '/route', true, ['v0', 'v1'], '/route/', '/service/'], // 61
  ['/service/', '/route', true, ['v0', 'v1'], '/routereq', '/service/req'], // 62
  ['/service/', '/route/', false, ['v0', 'v1'], '/route/', '/service/route/'], // 63
  ['/service/', '/route/', false, ['v0', 'v1'], '/route/req', '/service/route/req'], // 64
  ['/service/', '/route/', true, ['v0', 'v1'], '/route/', '/service/'], // 65
  ['/service/', '/route/', true, ['v0', 'v1'], '/route/req', '/service/req'], // 66
  ['/', null, [false, true], ['v0', 'v1'], '/', '/'], // 67
  ['/', null, [false, true], ['v0', 'v1'], '/route', '/route'], // 68
  ['/', null, [false, true], ['v0', 'v1'], '/route/', '/route/'], // 69
  ['/service', null, [false, true], ['v0', 'v1'], '/', '/service'], // 70
  ['/service', null, [false, true], 'v0', '/route', '/service/route'], // 71
  ['/service', null, [false, true], 'v1', '/route', '/serviceroute'], // 72
  ['/service', null, [false, true], 'v0', '/route/', '/service/route/'], // 73
  ['/service', null, [false, true], 'v1', '/route/', '/serviceroute/'], // 74
  ['/service/', null, [false, true], ['v0', 'v1'], '/', '/service/'], // 75
  ['/service/', null, [false, true], ['v0', 'v1'], '/route', '/service/route'], // 76
  ['/service/', null, [false, true], ['v0', 'v1'], '/route/', '/service/route/'], // 77
  ['/service', '/route', true, 'v0', '/route./req', '/service/req'], // 78
  ['/service', '/route', true, 'v1', '/route./req', '/servicereq'], // 79
  ['/service/', '/route', true, ['v0', 'v1'], '/route./req', '/service/req'], // 80
  ['/service', '/route', true, 'v0', '/route%2E/req', '/service/req'], // 81
  ['/service', '/route', true, 'v1', '/route%2E/req', '/servicereq'], // 82
  ['/service/', '/route', true, ['v0', 'v1'], '/route%2E/req', '/service/req'], // 83
  ['/service', '/route', true, 'v0', '/route%2e/req', '/service/req'], // 84
  ['/service', '/route', true, 'v1', '/route%2e/req', '/servicereq'], // 85
  ['/service/', '/route', true, ['v0', 'v1'], '/route%2e/req', '/service/req'], // 86
  ['/service', '/route', true, 'v0', '/route../req', '/service/req'], // 87
  ['/service', '/route', true, 'v1', '/route../req', '/servicereq'], // 88
  ['/service/', '/route', true, ['v0', 'v1'], '/route../req', '/service/req'], // 89
  ['/service', '/route', true, 'v0', '/route%2E%2E/req', '/service/req'], // 90
  ['/service', '/route', true, 'v1', '/route%2E%2E/req', '/servicereq'], // 91
  ['/service/', '/route', true, ['v0', 'v1'], '/route%2E%2E/req', '/service/req'], // 92
  ['/service', '/route', true, 'v0', '/route%2e%2E/req', '/service/req'], // 93
  ['/service', '/route', true, 'v1', '/route%2e%2E/req', '/servicereq'], // 94
  ['/service/', '/route', true, ['v0', 'v1'], '/route%2e%2E/req', '/service/req'], // 95
  ['/service', '/route', false, 'v0', '/route./req', '/service/route./req'], // 96
  ['/service', '/route', false, 'v1', '/route./req', '/serviceroute./req'], // 97
  ['/service/', '/route', false, ['v0', 'v1'], '/route./req', '/service/route./req'], // 98
  ['/service', '/route', false, 'v0', '/route%2E/req', '/service/route./req'], // 99
  ['/service', '/route', false, 'v1', '/route%2E/req', '/serviceroute./req'], // 100
  ['/service/', '/route', false, ['v0', 'v1'], '/route%2E/req', '/service/route./req'], // 101
  ['/service', '/route', false, 'v0', '/route%2e/req', '/service/route./req'], // 102
  ['/service', '/route', false, 'v1', '/route%2e/req', '/serviceroute./req'], // 103
  ['/service/', '/route', false, ['v0', 'v1'], '/route%2e/req', '/service/route./req'], // 104
  ['/service', '/route', false, 'v0', '/route../req', '/service/route../req'], // 105
  ['/service', '/route', false, 'v1', '/route../req', '/serviceroute../req'], // 106
  ['/service/', '/route', false, ['v0', 'v1'], '/route../req', '/service/route../req'], // 107
  ['/service', '/route', false, 'v0', '/route%2E%2E/req', '/service/route../req'], // 108
  ['/service', '/route', false, 'v1', '/route%2E%2E/req', '/serviceroute../req'], // 109
  ['/service/', '/route', false, ['v0', 'v1'], '/route%2E%2E/req', '/service/route../req'], // 110
  ['/service', '/route', false, 'v0', '/route%2e%2E/req', '/service/route../req'], // 111
  ['/service', '/route', false, 'v1', '/route%2e%2E/req', '/serviceroute../req'], // 112
  ['/service/', '/route', false, ['v0', 'v1'], '/route%2e%2E/req', '/service/route../req'], // 113
];

export interface PathHandlingCase {
  /** Kong's test label "(i-j)": row i (1-based) of the table, expansion j */
  readonly label: string;
  readonly row: number;
  readonly servicePath: string;
  readonly routePath: string | null;
  readonly strip: boolean;
  readonly pathHandling: 'v0' | 'v1';
  readonly requestPath: string;
  readonly expected: string;
}

/** Every row expanded as Kong's `line:expand()` does, numbered as Kong numbers them. */
export function expandedPathHandlingCases(): PathHandlingCase[] {
  const out: PathHandlingCase[] = [];
  PATH_HANDLING_ROWS.forEach(([servicePath, routePath, strip, handling, requestPath, expected], idx) => {
    const strips: readonly boolean[] = typeof strip === 'boolean' ? [strip] : strip;
    const handlings: readonly ('v0' | 'v1')[] = typeof handling === 'string' ? [handling] : handling;
    let j = 0;
    for (const s of strips)
      for (const h of handlings) {
        j++;
        out.push({
          label: `(${idx + 1}-${j})`,
          row: idx + 1,
          servicePath,
          routePath,
          strip: s,
          pathHandling: h,
          requestPath,
          expected,
        });
      }
  });
  return out;
}

/** Kong's router_spec "(regex)" variant of a route path: `~/[0]?` + the path without its leading slash. */
export const makeARegex = (path: string): string => `~/[0]?${path.slice(1)}`;
