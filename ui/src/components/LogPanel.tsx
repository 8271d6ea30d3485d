import {
  Button,
  FormSelect,
  FormSelectOption,
  Switch,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
  Alert,
  Content,
} from '@patternfly/react-core';
import { LogViewer, LogViewerSearch } from '@patternfly/react-log-viewer';
import DownloadIcon from '@patternfly/react-icons/dist/esm/icons/download-icon';
import { useEffect, useRef, useState } from 'react';
import { useApi } from '../api/context';
import type { LogLine } from '../api/types';
import { downloadName, formatLine, logSources, sourceQuery, type LogSource } from '../lib/logs';

const MAX_LINES = 100_000;

export interface LogPanelProps {
  namespace: string;
  name: string;
  workers: number;
  running: boolean;
  source: LogSource;
  onSourceChange: (s: LogSource) => void;
  isDark?: boolean;
}

/** LogPanel streams the logs of the launcher, one worker, or all of them merged with prefixes. */
export function LogPanel({ namespace, name, workers, running, source, onSourceChange, isDark }: LogPanelProps) {
  const api = useApi();
  const [follow, setFollow] = useState(running);
  const [lines, setLines] = useState<string[]>([]);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState(false);
  const buf = useRef<string[]>([]);

  useEffect(() => {
    const ctl = new AbortController();
    buf.current = [];
    setLines([]);
    setError(undefined);
    setDone(false);
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (buf.current.length > MAX_LINES) buf.current = buf.current.slice(-MAX_LINES);
      setLines(buf.current.slice());
    };
    const prefixed = source === 'all';
    api
      .streamLogs(
        namespace,
        name,
        sourceQuery(source, follow && running),
        (ls: LogLine[]) => {
          for (const l of ls) buf.current.push(formatLine(l, prefixed));
          if (!scheduled) {
            scheduled = true;
            setTimeout(flush, 100);
          }
        },
        ctl.signal,
      )
      .then(() => {
        if (!ctl.signal.aborted) {
          flush();
          setDone(true);
        }
      })
      .catch((e: Error) => {
        if (!ctl.signal.aborted) setError(e.message);
      });
    return () => ctl.abort();
  }, [api, namespace, name, source, follow, running]);

  const download = () => {
    const blob = new Blob([lines.join('\n') + '\n'], { type: 'text/plain' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = downloadName(name, source);
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <div data-testid="log-panel">
      {error && <Alert variant="danger" isInline title={`Cannot load logs: ${error}`} />}
      <LogViewer
        data={lines}
        hasLineNumbers={false}
        height={420}
        theme={isDark ? 'dark' : 'light'}
        scrollToRow={follow ? lines.length : undefined}
        toolbar={
          <Toolbar>
            <ToolbarContent>
              <ToolbarItem>
                <FormSelect
                  id="log-source"
                  aria-label="Log source"
                  value={source}
                  onChange={(_e, v) => onSourceChange(v)}
                  data-testid="log-source"
                >
                  {logSources(workers).map((s) => (
                    <FormSelectOption key={s.value} value={s.value} label={s.label} />
                  ))}
                </FormSelect>
              </ToolbarItem>
              <ToolbarItem>
                <LogViewerSearch placeholder="Search logs" minSearchChars={1} aria-label="Search logs" />
              </ToolbarItem>
              <ToolbarItem alignSelf="center">
                <Switch
                  id="log-follow"
                  label="Follow"
                  isChecked={follow}
                  isDisabled={!running}
                  onChange={(_e, v) => setFollow(v)}
                />
              </ToolbarItem>
              <ToolbarItem>
                <Button variant="secondary" icon={<DownloadIcon />} onClick={download} isDisabled={!lines.length}>
                  Download
                </Button>
              </ToolbarItem>
            </ToolbarContent>
          </Toolbar>
        }
        footer={
          <Content component="small" aria-live="polite" data-testid="log-status">
            {lines.length} line{lines.length === 1 ? '' : 's'}
            {done ? '' : follow && running ? ' · following' : ' · loading'}
          </Content>
        }
      />
    </div>
  );
}
